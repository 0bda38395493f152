"""The app the conformance runs test: the real one, over this test run's PostgreSQL and Redis, OpenAPI on.

Rate limits are off: a run sends about a thousand requests per credential set
within seconds, and with the admin limit (30 per minute) nearly every one would
be a 429, leaving the rest of the API untested. The 429 answers are still in
the document (``restosync_http.openapi`` lists them on every limited route);
``tests/integration/agents/test_rate_limits.py`` checks they are the real ones.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from litestar import Litestar
from schemathesis.python import asgi

from restosync_adapters.bootstrap import bootstrap
from restosync_adapters.settings import Settings
from restosync_http.app import create_app
from tests.conftest import make_settings

VENDOR = "vendor-42"
"""The vendor of the agent the runs authenticate as; also the id in the document's examples."""
AGENT_TOKEN = "conformance-agent-token-0123456789abcdef"


@dataclass(frozen=True)
class Target:
    app: Litestar
    settings: Settings
    credentials: dict[str, dict[str, str]]
    """Headers per credential set: ``admin``, ``agent`` and ``none``."""


def conformance_settings(clean_db: str, redis_ns: str) -> Settings:
    return make_settings(clean_db, redis_ns, SWAGGER_ENABLED="true", RATE_LIMITS_ENABLED="false")


@pytest.fixture
def target(clean_db: str, redis_ns: str) -> Iterator[Target]:
    """The app, started the way schemathesis' ASGI client starts it, with ``vendor-42``'s agent registered
    and one order placed (no worker runs: its sync job stays pending)."""
    settings = conformance_settings(clean_db, redis_ns)
    app = create_app(bootstrap(settings))
    try:
        with asgi.get_client(app) as client:
            registered = client.post(
                "/api/agents/register",
                json={"vendorId": VENDOR, "agentUrl": "http://127.0.0.1:9/agent", "authToken": AGENT_TOKEN},
                headers={"Authorization": f"Bearer {settings.agent_secret}"},
            )
            assert registered.status_code == 201, registered.text
            # Data for the operations that read one thing by id: a sync job (and its order) to list and read.
            placed = client.post(
                "/api/orders",
                json={"vendorId": VENDOR, "orderNumber": "RM-1", "lines": [{"sku": "SKU-1", "quantity": "1",
                                                                             "unitPrice": "2.50"}]},
                headers={"X-API-Key": settings.api_secret},
            )
            assert placed.status_code == 201, placed.text
        yield Target(
            app=app,
            settings=settings,
            credentials={
                "admin": {"X-API-Key": settings.api_secret},
                "agent": {"Authorization": f"Bearer {AGENT_TOKEN}", "X-Vendor-ID": VENDOR},
                "none": {},
            },
        )
    finally:
        asgi.shutdown_lifespans()  # stops the app's services (pool, Redis) before the database goes
