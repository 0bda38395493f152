"""Admin per-vendor sync metrics (issue 12, REQ-11): ``GET /api/admin/metrics/{vendorId}``.

Beside ``/api/admin/metrics/reconciliation/{vendorId}`` (controllers/reconciliation.py):
the two paths differ in length, so each request has one route. But Litestar's
router, having walked into the static ``reconciliation`` segment, does not come
back to try ``{vendorId}``: ``/api/admin/metrics/reconciliation`` (a vendor named
``reconciliation``) would be a 404, so that one path has a route of its own,
left out of the OpenAPI document (it is the documented route's vendor id).
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import PathParameter, QueryParameter

from restosync_core.model.metrics import DEFAULT_WINDOW
from restosync_http.dto.base import VENDOR_ID_SCHEMA, vendor_param
from restosync_http.dto.metrics import EXAMPLE, WINDOWS, VendorMetricsResponse, window_param
from restosync_http.guards import api_key_guard, services_of
from restosync_http.openapi import problems
from restosync_http.rate_limit import ADMIN, rate_limits

VendorPath = Annotated[
    str,
    PathParameter(description="The vendor id (1-64 characters of [A-Za-z0-9._-]).", schema_extra=VENDOR_ID_SCHEMA),
]
WindowQuery = Annotated[
    str | None,
    QueryParameter(
        description=f"How far back: {', '.join(WINDOWS)} (default {DEFAULT_WINDOW.value}); anything else is a 400.",
        schema_extra={"enum": WINDOWS, "default": DEFAULT_WINDOW.value},
    ),
]


async def _answer(request: Request[Any, Any, Any], vendor_id: str, window: str | None) -> VendorMetricsResponse:
    metrics = await services_of(request).get_vendor_metrics(vendor_param(vendor_id), window_param(window))
    return VendorMetricsResponse.of(metrics)


class MetricsController(Controller):
    path = "/api/admin/metrics"
    tags = ["metrics"]
    guards = [api_key_guard]
    security = [{"ApiKey": []}]
    opt = rate_limits(ADMIN)

    @get(
        "/{vendor_id:str}",
        operation_id="getVendorSyncMetrics",
        summary="A vendor's sync metrics: deliveries, pushes by outcome, latencies, dead letters, breaker, agent",
        description=(
            "Over the window (`?window=1h|24h|7d`, default 24h) ending now. **Deliveries** are the sync jobs of "
            "the vendor's orders placed in the window: `total`, `pending` (pending, processing or sent), "
            "`completed`, `failed`, `deliveries.byStatus` (every status), `retried` (more than one attempt), "
            "latency percentiles in ms from order placed to the agent's acceptance and to the completed "
            "callback. Rates: `successRate` = completed / (completed + failed), `retryRate` = retried / total, "
            "`avgLatency` = mean ms placed -> completed; a rate or mean with nothing to divide by is **null**, "
            "never 0. **Ingest**: the vendor's pushes and their rows per entity and outcome (processed, each "
            "skip and failure reason), from hourly counters: they start at the hour holding the window's start "
            "(`ingest.since`); a push of no rows is not counted, and an API process writes its counts once a "
            "second. **Now**: open (unresolved) dead letters, the breakers' state, the agent's status "
            "and last heartbeat (`agent` null when none is registered). A vendor with no data answers zeros and "
            "nulls, not 404. Computed in PostgreSQL (docs/performance.md#per-vendor-sync-metrics)."
        ),
        responses={
            200: ResponseSpec(
                data_container=VendorMetricsResponse,
                description="The vendor's figures over the window",
                examples=[Example(summary="a busy vendor over 24 h", value=EXAMPLE)],
            ),
            **problems(
                (400, "a malformed vendor id, or a window other than 1h, 24h or 7d (named in `errors[0].path`)")
            ),
        },
    )
    async def vendor_metrics(
        self, request: Request[Any, Any, Any], vendor_id: VendorPath, window: WindowQuery = None
    ) -> VendorMetricsResponse:
        return await _answer(request, vendor_id, window)

    @get("/reconciliation", operation_id="getVendorSyncMetricsOfVendorReconciliation", include_in_schema=False)
    async def vendor_named_reconciliation(
        self, request: Request[Any, Any, Any], window: WindowQuery = None
    ) -> VendorMetricsResponse:
        """``getVendorSyncMetrics`` for the vendor id ``reconciliation`` (see the module's docstring)."""
        return await _answer(request, "reconciliation", window)
