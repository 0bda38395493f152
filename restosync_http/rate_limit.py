"""Named rate limits, counted in Redis across every API process (REQ-3, REQ-13).

Usage (in a controller)::

    from restosync_http.rate_limit import SYNC, SYNC_BATCH, rate_limits

    class IngestController(Controller):
        path = "/api/sync"
        guards = [agent_guard]
        opt = rate_limits(SYNC)                    # every route here: 60/min per agent

        @post("/items/batch", opt=rate_limits(SYNC_BATCH))   # this one: 10/min per agent instead
        ...

- A :class:`RateLimit` has a name (in the 429 message and in its Redis key, so
  two limits never share a counter), the ``Settings`` attribute holding its
  requests per minute, and who it counts: :func:`per_ip`, :func:`per_agent` or
  :func:`per_api_key`. Ready-made: ``GLOBAL``, ``REGISTER``, ``HEARTBEAT``,
  ``ADMIN``, ``SYNC``, ``SYNC_BATCH``, ``CALLBACK``; declare others the same way.
- ``opt`` layers as Litestar merges it: the innermost ``rate_limits(...)``
  (handler over controller over router) replaces the outer one; list several
  limits in one call to apply them all.
- The global limit (``RATE_LIMIT_GLOBAL_PER_MIN`` per IP) applies on top, to
  every route except ``GET /health`` and routes with ``opt=NO_GLOBAL_LIMIT``.
- Failed authentications (a wrong admin key, registration secret or agent
  token) are counted per IP and per vendor (``AuthThrottle``): an IP with
  ``AUTH_FAILURES_PER_IP`` of them in ``AUTH_FAILURE_WINDOW_SECONDS`` gets 429 on
  every route but ``GET /health`` (checked here, in the same Redis round trip);
  the vendor limit is applied by the agent authentication itself.
- Over a limit: 429 problem details naming the limit, with ``Retry-After``. A
  refused request is not counted. ``RATE_LIMITS_ENABLED=false`` switches every
  limit off.

Middleware runs before guards, so an agent is identified from the request
itself: a digest of its ``Authorization`` header (not ``X-Vendor-ID``, which
anyone could set to exhaust another vendor's allowance). Counting is a sliding
window in Redis (``restosync_adapters.redis.rate_limiter``); Litestar's own
rate-limit middleware is not used because its store read-modify-writes (not
atomic across processes) and keys by client only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPScope, Receive, Scope, Send

from restosync_core.errors import RateLimited
from restosync_core.ports.rate_limit import RateCharge
from restosync_http.guards import agent_guard

OPT_LIMITS = "rate_limits"
OPT_NO_GLOBAL = "no_global_rate_limit"

KeyFunction = Callable[[Scope], str]


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value)
    return None


def per_ip(scope: Scope) -> str:
    """The client address (behind a proxy, run uvicorn with ``--proxy-headers``/``--forwarded-allow-ips``)."""
    client = scope.get("client")
    return f"ip:{client[0]}" if client else "ip:unknown"


def _digest(value: bytes) -> str:
    return hashlib.sha256(value).hexdigest()[:32]


def per_agent(scope: Scope) -> str:
    """A digest of the ``Authorization`` header: one count per agent token (the IP when there is none)."""
    auth = _header(scope, b"authorization")
    return f"token:{_digest(auth)}" if auth else per_ip(scope)


def per_api_key(scope: Scope) -> str:
    """A digest of the ``X-API-Key`` header (the IP when there is none)."""
    key = _header(scope, b"x-api-key")
    return f"key:{_digest(key)}" if key else per_ip(scope)


@dataclass(frozen=True, slots=True)
class RateLimit:
    name: str
    setting: str
    """The ``Settings`` attribute with the limit in requests per minute."""
    key: KeyFunction
    who: str
    """Said in the 429 message: 'per IP', 'per agent' ..."""
    window_seconds: int = 60


GLOBAL = RateLimit("global", "rate_limit_global", per_ip, "per IP")
REGISTER = RateLimit("register", "rate_limit_register", per_ip, "per IP")
HEARTBEAT = RateLimit("heartbeat", "rate_limit_heartbeat", per_agent, "per agent")
ADMIN = RateLimit("admin", "rate_limit_admin", per_api_key, "per API key")
SYNC = RateLimit("sync", "rate_limit_sync", per_agent, "per agent")
SYNC_BATCH = RateLimit("sync-batch", "rate_limit_sync_batch", per_agent, "per agent")
CALLBACK = RateLimit("callback", "rate_limit_callback", per_agent, "per agent")

NO_GLOBAL_LIMIT: dict[str, Any] = {OPT_NO_GLOBAL: True}


def rate_limits(*limits: RateLimit) -> dict[str, Any]:
    """The ``opt`` that puts ``limits`` on a route, controller or router."""
    return {OPT_LIMITS: tuple(limits)}


def _health(scope: HTTPScope) -> bool:
    return scope["path"].rstrip("/") == "/health" and scope["method"] == "GET"


def _applicable(scope: HTTPScope) -> list[RateLimit]:
    handler = scope.get("route_handler")
    opt: dict[str, Any] = getattr(handler, "opt", None) or {}
    limits = list(opt.get(OPT_LIMITS, ()))
    exempt = opt.get(OPT_NO_GLOBAL) or _health(scope)
    return limits if exempt else [GLOBAL, *limits]


def client_address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def _agent_vendor(scope: HTTPScope) -> str | None:
    """``X-Vendor-ID`` of a request to an agent route (one ``agent_guard`` protects), else None."""
    handler = scope.get("route_handler")
    if handler is None or agent_guard not in handler.resolve_guards():
        return None
    value = _header(scope, b"x-vendor-id")
    return value.decode("latin-1") if value else None


class RateLimitMiddleware:
    """Charge each request against its route's limits; raise RateLimited (429) when one is full.

    On an agent route the same Redis round trip reads ahead the vendor's cached
    token and mapping generation for the guard and the use case
    (``services.admit``, ``restosync_adapters.redis.read_ahead``): one round
    trip per agent request, rate limits on or off.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP:
            await self._check(scope)
        await self.app(scope, receive, send)

    async def _check(self, scope: HTTPScope) -> None:
        services = scope["litestar_app"].state.services
        settings = services.settings
        vendor = _agent_vendor(scope)
        if not settings.rate_limits_enabled and vendor is None:
            return
        limits = _applicable(scope) if settings.rate_limits_enabled else []
        charges = [
            RateCharge(limit.name, limit.key(scope), int(getattr(settings, limit.setting)), limit.window_seconds)
            for limit in limits
        ]
        throttle = services.auth_throttle
        if throttle is not None and not _health(scope):  # an IP that failed to authenticate too often
            charges.insert(0, throttle.ip_gate(client_address(scope)))
        decision = await services.admit(charges, vendor)
        if decision.allowed or decision.exceeded is None:
            return
        exceeded = decision.exceeded
        if not exceeded.counted:
            raise RateLimited(
                f"too many failed authentications from this address: {exceeded.limit} per "
                f"{exceeded.window_seconds} s (AUTH_FAILURES_PER_IP); retry in {decision.retry_after_seconds} s",
                retry_after_seconds=decision.retry_after_seconds,
            )
        who = next(limit.who for limit in limits if limit.name == exceeded.name)
        raise RateLimited(
            f"rate limit '{exceeded.name}' exceeded: {exceeded.limit} requests per "
            f"{exceeded.window_seconds} s {who}; retry in {decision.retry_after_seconds} s",
            retry_after_seconds=decision.retry_after_seconds,
        )
