"""Agent registry endpoints: self-registration and heartbeats (agents), listing and care (admins)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, post, put
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import HeaderParameter, JSONBody, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT
from litestar.types import OperationIDCreator

from restosync_core.use_cases.register_agent import Registration
from restosync_core.use_cases.update_agent import AgentChanges
from restosync_http.dto.agents import (
    AgentResponse,
    HeartbeatRequest,
    HeartbeatResponse,
    RegisterAgentRequest,
    RegisteredAgentResponse,
    UpdateAgentRequest,
)
from restosync_http.dto.base import VENDOR_ID_SCHEMA, Paginated, vendor_param
from restosync_http.guards import (
    agent_guard,
    api_key_guard,
    authenticated_vendor,
    registration_guard,
    services_of,
)
from restosync_http.openapi import problems
from restosync_http.pagination import PAGINATION, Paging, paginated
from restosync_http.rate_limit import ADMIN, HEARTBEAT, REGISTER, rate_limits
from restosync_http.request_context import request_context

AnyRequest = Request[Any, Any, Any]
VendorPath = Annotated[
    str,
    Parameter(description="The vendor id the agent is registered for (1-64 characters of [A-Za-z0-9._-]).",
              schema_extra=VENDOR_ID_SCHEMA),
]


class AgentController(Controller):
    """What agents themselves call."""

    path = "/api/agents"
    tags = ["agents"]

    @post(
        "/register",
        operation_id="registerAgent",
        summary="Register an agent (upsert)",
        description=(
            "Authenticated with the shared registration secret (`Authorization: Bearer <AGENT_SECRET>`). "
            "Creates the vendor's agent (201) or updates its URL and version (200). An existing vendor's "
            "agent can only be changed by a caller proving its current token: the same `authToken`, or "
            "`X-Agent-Token: <current token>` to replace the token; otherwise 409 (an admin deregisters "
            "first). The token is stored only as a bcrypt hash. The answer carries `outbound`: the agent's "
            "credential for restosync's signed calls to it, new for a new agent and whenever the token is "
            "replaced. Limited to 10 per minute per IP."
        ),
        guards=[registration_guard],
        opt=rate_limits(REGISTER),
        status_code=HTTP_201_CREATED,
        security=[{"AgentBearer": []}],
        responses={
            HTTP_200_OK: ResponseSpec(RegisteredAgentResponse, description="the vendor's agent was updated"),
            **problems(
                (403, "`X-Agent-Token` is not the vendor's current token"),
                (409, "the vendor already has an agent and the caller did not prove its current token"),
            ),
        },
    )
    async def register(
        self,
        request: AnyRequest,
        data: JSONBody[RegisterAgentRequest],
        current_token: Annotated[
            str | None,
            HeaderParameter(name="X-Agent-Token", required=False, description="The current token, to replace it."),
        ] = None,
    ) -> Response[RegisteredAgentResponse]:
        registered = await services_of(request).register_agent(
            Registration(data.vendor_id, data.agent_url, data.auth_token, data.version, current_token),
            context=request_context(request),
        )
        status = HTTP_201_CREATED if registered.created else HTTP_200_OK
        return Response(RegisteredAgentResponse.registered(registered.agent), status_code=status)

    @post(
        "/heartbeat",
        operation_id="sendAgentHeartbeat",
        summary="Agent heartbeat (every 30 s)",
        description=(
            "Agent auth (`Authorization: Bearer <token>` + `X-Vendor-ID`). Marks the agent online; it turns "
            "degraded after 60 s without a heartbeat and offline after 300 s (reads may lag a heartbeat by up to "
            "AGENT_HEARTBEAT_FLUSH_SECONDS, 1 s by default). The body is optional; a "
            "`vendorId` in it must be the token's vendor (else 403). Limited to 120 per minute per agent."
        ),
        guards=[agent_guard],
        opt=rate_limits(HEARTBEAT),
        status_code=HTTP_200_OK,
        security=[{"AgentBearer": []}],
        responses=problems((403, "the body's `vendorId` is not the token's vendor")),
    )
    async def heartbeat(self, request: AnyRequest, data: JSONBody[HeartbeatRequest | None] = None) -> HeartbeatResponse:
        body = data or HeartbeatRequest()
        ack = await services_of(request).record_heartbeat(
            authenticated_vendor(request), named_vendor=body.vendor_id, version=body.version
        )
        return HeartbeatResponse(vendor_id=ack.vendor_id, status=ack.status.value, received_at=ack.received_at)


def _operation_id(name: str) -> OperationIDCreator:
    """``name`` under ``/api/agents``, ``admin`` + ``Name`` under ``/api/admin/agents`` (ids stay unique)."""

    def create(_handler: object, _method: object, components: list[Any]) -> str:
        return f"admin{name[0].upper()}{name[1:]}" if "admin" in components else name

    return create


ADMIN_PATHS = ["/agents", "/admin/agents"]
"""The spec names the admin rows twice: under /api/agents (REQ-3) and /api/admin/agents (REQ-15)."""
ONE_AGENT = [f"{path}/{{vendor_id:str}}" for path in ADMIN_PATHS]


class AdminAgentsController(Controller):
    """Admins' agent rows, served on both of the spec's path sets; updating is a REQ-15 row only."""

    path = "/api"
    tags = ["agents", "admin"]
    guards = [api_key_guard]
    opt = rate_limits(ADMIN)
    security = [{"ApiKey": []}]
    dependencies = PAGINATION

    @get(
        ADMIN_PATHS,
        operation_id=_operation_id("listAgents"),
        summary="List agents with their health",
        description="Paginated, ordered by vendor id; each status is computed as of now.",
    )
    async def list_agents(self, request: AnyRequest, paging: Paging) -> Paginated[AgentResponse]:
        return paginated(await services_of(request).list_agents(paging), AgentResponse.of)

    @get(
        ONE_AGENT,
        operation_id=_operation_id("getAgent"),
        summary="Get one agent",
        description="The agent of that vendor with its status as of now; 404 if none is registered.",
        responses=problems((404, "no agent is registered for that vendor")),
    )
    async def get_agent(self, request: AnyRequest, vendor_id: VendorPath) -> AgentResponse:
        return AgentResponse.of(await services_of(request).get_agent(vendor_param(vendor_id)))

    @put(
        "/admin/agents/{vendor_id:str}",
        operation_id="adminUpdateAgent",
        summary="Update an agent's URL and/or settings",
        description=(
            "Send `agentUrl`, `settings` (replaces the stored object) or both; what is omitted stays as it "
            "is, and an empty body is a 400. 404 if none."
        ),
        responses=problems((404, "no agent is registered for that vendor")),
    )
    async def update_agent(
        self, request: AnyRequest, vendor_id: VendorPath, data: JSONBody[UpdateAgentRequest]
    ) -> AgentResponse:
        agent_url, settings = data.changes()
        agent = await services_of(request).update_agent(
            vendor_param(vendor_id), AgentChanges(agent_url=agent_url, settings=settings),
            context=request_context(request),
        )
        return AgentResponse.of(agent)

    @delete(
        ONE_AGENT,
        operation_id=_operation_id("deregisterAgent"),
        summary="Deregister an agent",
        description="Removes the vendor's agent; its token stops working at once. 404 if none.",
        status_code=HTTP_204_NO_CONTENT,
        responses=problems((404, "no agent is registered for that vendor")),
    )
    async def deregister(self, request: AnyRequest, vendor_id: VendorPath) -> None:
        await services_of(request).deregister_agent(vendor_param(vendor_id), context=request_context(request))
