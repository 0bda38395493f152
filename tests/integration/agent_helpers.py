"""Helpers for integration tests that need a registered agent: register through the real endpoint.

    from tests.integration.agent_helpers import register_agent

    headers = register_agent(client, "vendor-1")
    client.post("/api/sync/items", json=..., headers=headers)

Note: registration is limited to RATE_LIMIT_REGISTER_PER_MIN (10) per IP and every
route to RATE_LIMIT_GLOBAL_PER_MIN (120) per IP; each test has its own Redis
prefix, so counts start at zero per test. A test that needs more builds its
settings with ``make_settings(..., RATE_LIMITS_ENABLED="false")``.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.fake_agent import FakeAgent


def agent_token() -> str:
    """A fresh agent token (43 URL-safe characters)."""
    return secrets.token_urlsafe(32)


def register_agent(
    client: Any,
    vendor_id: str,
    agent_url: str | FakeAgent = "http://127.0.0.1:9/agent",
    *,
    token: str | None = None,
    version: str | None = None,
) -> dict[str, str]:
    """Register ``vendor_id``'s agent via ``POST /api/agents/register`` and answer the headers
    (``Authorization``, ``X-Vendor-ID``) that agent sends on every later request.

    ``agent_url`` a ``FakeAgent``: registers its URL, and has it trust the outbound credential
    of the answer (so it accepts the server's signed calls for this vendor)."""
    fake = None if isinstance(agent_url, str) else agent_url
    if fake is not None:
        agent_url = fake.url
    token = token or agent_token()
    secret = client.app.state.services.settings.agent_secret
    body: dict[str, Any] = {"vendorId": vendor_id, "agentUrl": agent_url, "authToken": token}
    if version is not None:
        body["version"] = version
    response = client.post("/api/agents/register", json=body, headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code in (200, 201), response.text
    if fake is not None:
        fake.trust(response.json()["outbound"])
    return {"Authorization": f"Bearer {token}", "X-Vendor-ID": vendor_id}


def admin_headers(client: Any) -> dict[str, str]:
    return {"X-API-Key": client.app.state.services.settings.api_secret}
