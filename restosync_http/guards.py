"""Guards: who may call what. Plain functions, as Litestar wants them."""

from __future__ import annotations

import hmac
import logging
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from restosync_adapters.bootstrap import Services
from restosync_core.errors import Unauthenticated
from restosync_core.model.ids import VendorId
from restosync_core.use_cases.authenticate_agent import AGENT_AUTH_FAILED

log = logging.getLogger("restosync.auth")

API_KEY_HEADER = "x-api-key"
VENDOR_HEADER = "x-vendor-id"
AGENT_VENDOR_STATE = "agent_vendor_id"
"""Where ``agent_guard`` leaves the authenticated vendor in ``connection.state``."""


def services_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Services:
    services: Services = connection.app.state.services
    return services


def client_of(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    return connection.client.host if connection.client else "unknown"


async def _failed(connection: ASGIConnection[Any, Any, Any, Any], what: str) -> None:
    """Count a failed authentication against the caller's address, and log it (never what was presented)."""
    client = client_of(connection)
    log.warning("%s from %s on %s %s", what, client, connection.scope.get("method", ""), connection.url.path)
    throttle = services_of(connection).auth_throttle
    if throttle is not None:
        await throttle.failed(client, None)


async def api_key_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Admin routes: ``X-API-Key`` equal to ``API_SECRET``, compared in constant time.

    A missing key and a wrong key get the same 401 body; the failure is logged (without the
    key) and counted against the caller's address (``AUTH_FAILURES_PER_IP``).
    """
    expected = services_of(connection).settings.api_secret.encode("utf-8")
    given = connection.headers.get(API_KEY_HEADER, "").encode("utf-8")
    if not hmac.compare_digest(given, expected):
        await _failed(connection, "admin authentication failed (missing or wrong X-API-Key)")
        raise Unauthenticated("a valid X-API-Key header is required")


def bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    scheme, _, token = connection.headers.get("authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


async def registration_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """``POST /api/agents/register``: ``Authorization: Bearer <AGENT_SECRET>``, in constant time.

    A missing and a wrong secret get the same 401 body (logged without the secret, and counted).
    """
    expected = services_of(connection).settings.agent_secret.encode("utf-8")
    given = (bearer_token(connection) or "").encode("utf-8")
    if not hmac.compare_digest(given, expected):
        await _failed(connection, "registration refused (missing or wrong registration secret)")
        raise Unauthenticated("a valid registration secret (Authorization: Bearer) is required")


async def agent_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Agent routes: ``Authorization: Bearer <agent token>`` + ``X-Vendor-ID``.

    The token is checked against the vendor's stored bcrypt hash once (in a
    thread) and then recognised from the Redis token cache; deregistration or a
    token change revokes it at once. Every failure (no header, wrong token,
    unknown or other vendor) is the same 401. On success the vendor is in
    ``connection.state``: read it with :func:`authenticated_vendor`.
    """
    token = bearer_token(connection)
    vendor = connection.headers.get(VENDOR_HEADER, "")
    if token is None or not vendor:
        await _failed(connection, "agent authentication failed (no token or no X-Vendor-ID)")
        raise Unauthenticated(AGENT_AUTH_FAILED)
    vendor_id = await services_of(connection).authenticate_agent(vendor, token, client=client_of(connection))
    connection.state[AGENT_VENDOR_STATE] = vendor_id


def authenticated_vendor(connection: ASGIConnection[Any, Any, Any, Any]) -> VendorId:
    """The vendor the agent's token proved (routes guarded by :func:`agent_guard` only).

    Use it as the vendor of everything the request does; a body or path naming
    another vendor is refused with 403 (``restosync_core.policies.agent_identity``).
    """
    vendor_id: VendorId | None = connection.state.get(AGENT_VENDOR_STATE)
    if vendor_id is None:  # a route forgot agent_guard: fail closed
        raise Unauthenticated(AGENT_AUTH_FAILED)
    return vendor_id
