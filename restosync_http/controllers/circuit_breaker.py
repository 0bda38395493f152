"""Admin circuit breakers (REQ-7): every breaker's state, and a forced reset to closed."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK

from restosync_core.model.delivery import BreakerKey
from restosync_core.model.ids import VendorId
from restosync_http.dto.orders import BreakerStatusResponse, ResetBreakerRequest
from restosync_http.guards import api_key_guard, services_of
from restosync_http.openapi import problems
from restosync_http.rate_limit import ADMIN, rate_limits


class CircuitBreakerController(Controller):
    path = "/api/admin/circuit-breaker"
    tags = ["circuit breakers"]
    guards = [api_key_guard]
    security = [{"ApiKey": []}]
    opt = rate_limits(ADMIN)

    @get(
        "/status",
        operation_id="getCircuitBreakerStatus",
        summary="Every circuit breaker's state (shared by all processes)",
        description="One entry per `vendorId:apiType` that has seen a call: state, calls in the rolling window, "
        "when it opened and when it lets a probe through.",
    )
    async def status(self, request: Request[Any, Any, Any]) -> list[BreakerStatusResponse]:
        return [BreakerStatusResponse.of(s) for s in await services_of(request).breaker.status()]

    @post(
        "/reset",
        operation_id="resetCircuitBreaker",
        summary="Force a breaker closed",
        description="Body `{vendorId, apiType}` (apiType defaults to `orders`). The window starts empty. "
        "404 when the vendor has no registered agent and the breaker has no state.",
        status_code=HTTP_200_OK,
        responses=problems((404, "the vendor has no registered agent and the breaker has no state")),
    )
    async def reset(
        self, request: Request[Any, Any, Any], data: JSONBody[ResetBreakerRequest]
    ) -> BreakerStatusResponse:
        key = BreakerKey(VendorId(data.vendor_id), data.api_type)
        return BreakerStatusResponse.of(await services_of(request).reset_circuit_breaker(key))
