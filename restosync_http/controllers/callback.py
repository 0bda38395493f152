"""``POST /api/agents/callback``: an agent reports how an order delivery ended (docs/agent-protocol.md)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, post
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK

from restosync_core.model.delivery import AgentCallback, CallbackStatus
from restosync_core.model.ids import SyncJobId
from restosync_http.dto.orders import CallbackRequest, CallbackResponse, SyncJobResponse
from restosync_http.guards import agent_guard, authenticated_vendor, services_of
from restosync_http.openapi import problems
from restosync_http.rate_limit import CALLBACK, rate_limits


class CallbackController(Controller):
    path = "/api/agents/callback"
    tags = ["agents", "orders"]
    guards = [agent_guard]
    security = [{"AgentBearer": []}]
    opt = rate_limits(CALLBACK)

    @post(
        "/",
        operation_id="reportOrderOutcome",
        summary="Report the outcome of an order delivery",
        description=(
            "Agent auth. `completed` (with `erpReference`) completes the sync job and sets the order's ERP "
            "reference in one transaction; `failed` fails that delivery attempt (retried with backoff, or "
            "dead-lettered when out of attempts). The same callback again answers 200 `unchanged`; a job of "
            "another vendor answers 403; a second `completed` with another `erpReference` answers 409. Limited to "
            "`RATE_LIMIT_CALLBACK_PER_MIN` (600) per minute per agent."
        ),
        status_code=HTTP_200_OK,
        responses=problems(
            (403, "the job belongs to another vendor"),
            (404, "no sync job has that id"),
            (409, "the job was completed with another `erpReference`"),
        ),
    )
    async def report(self, request: Request[Any, Any, Any], data: JSONBody[CallbackRequest]) -> CallbackResponse:
        callback = AgentCallback(
            job_id=SyncJobId(data.job_id),
            status=CallbackStatus(data.status),
            erp_reference=data.erp_reference,
            error=data.error,
        )
        result, job = await services_of(request).handle_order_callback(authenticated_vendor(request), callback)
        return CallbackResponse(result=result.value, job=SyncJobResponse.of(job))
