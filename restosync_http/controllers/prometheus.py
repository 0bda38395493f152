"""``GET /metrics``: the Prometheus text format, for the admin key or the metrics token (docs/prometheus-metrics.md).

Who may read it: ``X-API-Key`` (the admin routes' check; when it is sent, it alone
decides) or ``Authorization: Bearer <METRICS_TOKEN>`` (compared in constant time; an
empty ``METRICS_TOKEN`` allows only the key). Rate limit: the global one per IP, and
one of its own, apart from the admin routes' allowance, at ``RATE_LIMIT_ADMIN_PER_MIN``
(30) per credential: a 15 s scrape interval uses 4 a minute, and a scraper never eats
an operator's admin allowance."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from typing import Any

from litestar import Controller, Request, Response, get
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from restosync_adapters.prometheus import exposition, take_snapshot
from restosync_core.errors import Unauthenticated
from restosync_http.dto.base import Problem
from restosync_http.errors import PROBLEM_JSON
from restosync_http.guards import API_KEY_HEADER, api_key_guard, bearer_token, services_of
from restosync_http.rate_limit import RateLimit, per_ip, rate_limits

METRICS_MEDIA_TYPE = CONTENT_TYPE_PLAIN_0_0_4.removesuffix("; charset=utf-8")
"""``text/plain; version=0.0.4``: the classic text format every Prometheus reads (Litestar adds the
``; charset=utf-8`` of every ``text/`` answer itself: with prometheus-client's own, it came twice)."""


def per_scraper(scope: Any) -> str:
    """A digest of the credential sent (``X-API-Key`` or ``Authorization``), else the client's address."""
    for name, value in scope.get("headers", ()):
        if name in (b"x-api-key", b"authorization"):
            return f"scraper:{hashlib.sha256(bytes(value)).hexdigest()[:32]}"
    return per_ip(scope)


SCRAPE = RateLimit("metrics", "rate_limit_admin", per_scraper, "per scraper")


async def metrics_guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """The admin key when ``X-API-Key`` is sent (a wrong one is refused whatever else comes with it), else
    ``Authorization: Bearer <METRICS_TOKEN>`` when that token is set; 401 otherwise."""
    if API_KEY_HEADER not in connection.headers:
        expected = services_of(connection).settings.metrics_token.encode("utf-8")
        given = (bearer_token(connection) or "").encode("utf-8")
        if expected and hmac.compare_digest(given, expected):
            return
    try:
        await api_key_guard(connection, handler)
    except Unauthenticated:
        raise Unauthenticated(
            "a valid X-API-Key header, or Authorization: Bearer <METRICS_TOKEN>, is required"
        ) from None


class PrometheusController(Controller):
    path = "/metrics"
    tags = ["observability"]
    guards = [metrics_guard]
    security = [{"ApiKey": []}, {"MetricsBearer": []}]  # either one
    opt = rate_limits(SCRAPE)

    @get(
        "/",
        operation_id="getPrometheusMetrics",
        summary="Prometheus metrics of every API and worker process (text format)",
        description=(
            "Request counts and latency by route template, rows pushed by outcome, order deliveries by outcome "
            "(summed over every process sharing METRICS_DIR), and, read at scrape time, queue depth, dead letters "
            "open, breaker state per vendor and agents by status. A source that cannot be read is left out and "
            "shows as restosync_scrape_source_up 0. Credentials: X-API-Key, or Authorization: Bearer "
            "<METRICS_TOKEN>. Names, labels and a scrape config: docs/prometheus-metrics.md."
        ),
        media_type=METRICS_MEDIA_TYPE,
        response_description="every metric, in the Prometheus text format",
        cache=False,
        responses={
            401: ResponseSpec(data_container=Problem, media_type=PROBLEM_JSON,
                              description="no admin key and no valid metrics token"),
            429: ResponseSpec(data_container=Problem, media_type=PROBLEM_JSON,
                              description="over the scrape rate limit; see Retry-After"),
        },
    )
    async def metrics(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        snapshot = await take_snapshot(services_of(request))
        body = await asyncio.to_thread(exposition, snapshot)
        return Response(body, media_type=METRICS_MEDIA_TYPE)
