"""Admin reconciliation (issue 10, REQ-11, REQ-15): trigger a run, read one, the event log, a vendor's figures."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.params import JSONBody, PathParameter, QueryParameter
from litestar.status_codes import HTTP_202_ACCEPTED

from restosync_core.model.ids import VendorId
from restosync_core.model.reconciliation import ReconciliationEventType, RunScope
from restosync_http.dto.base import UUID_SCHEMA, VENDOR_ID_SCHEMA, Paginated
from restosync_http.dto.reconciliation import (
    EventResponse,
    ReconciliationMetricsResponse,
    RunResponse,
    TriggerRequest,
    TriggerResponse,
    event_filter,
    run_id_param,
    vendor_param,
)
from restosync_http.guards import api_key_guard, services_of
from restosync_http.openapi import problems
from restosync_http.pagination import PAGINATION, Paging, VendorFilter, paginated
from restosync_http.rate_limit import ADMIN, rate_limits
from restosync_http.request_context import correlation_id, request_context

AnyRequest = Request[Any, Any, Any]
RunIdPath = Annotated[
    str, PathParameter(description="The run's id (a UUID); anything else is a 400.", schema_extra=UUID_SCHEMA)
]
DATE_TIME: dict[str, Any] = {"format": "date-time"}
VendorPath = Annotated[
    str,
    PathParameter(description="The vendor id (1-64 characters of [A-Za-z0-9._-]).", schema_extra=VENDOR_ID_SCHEMA),
]


class ReconciliationController(Controller):
    path = "/api/admin"
    tags = ["reconciliation"]
    guards = [api_key_guard]
    security = [{"ApiKey": []}]
    opt = rate_limits(ADMIN)
    dependencies = PAGINATION

    @post(
        "/reconciliation/trigger",
        operation_id="triggerReconciliation",
        summary="Ask for a reconciliation run of one vendor",
        description=(
            "Body `{vendorId, entity: items|stock|all (default all), confirm (default false)}`. 202 with the "
            "queued run; a worker of the `reconciliation` queue runs it. While the vendor has the same run "
            "active (queued or running) that run is answered again with `created: false`; another entity, or "
            "`confirm` on an unconfirmed active run, is a 409 whose `errors[0].runId` names the active run. "
            "404 when the vendor has no registered agent. The request's `X-Correlation-ID` (a UUID, else one "
            "made up and answered in that header) is the run's `correlationId`: its agent calls and log lines "
            "carry it. Audited."
        ),
        status_code=HTTP_202_ACCEPTED,
        responses=problems(
            (404, "the vendor has no registered agent"),
            (409, "the vendor has another active run; `errors[0].runId` names it"),
        ),
    )
    async def trigger(
        self,
        request: AnyRequest,
        data: JSONBody[TriggerRequest],
    ) -> TriggerResponse:
        asked = await services_of(request).trigger_reconciliation(
            VendorId(data.vendor_id),
            data.entity,
            confirm=data.confirm,
            context=request_context(request),
            correlation_id=correlation_id(request),
        )
        return TriggerResponse.of(asked)

    @get(
        "/reconciliation/runs/{run_id:str}",
        operation_id="getReconciliationRun",
        summary="One reconciliation run: status, timestamps and its summary per entity",
        description=(
            "`summary` holds `entities` (each entity's figures: databaseRows, erpRows, rangesVisited, "
            "agentCalls, rowsCompared, driftFound, repaired, inserted, updated, deactivated, leftToNewerPush, "
            "failed), the run's totals, `durationMs`, `reason` and up to 20 `samples`. 404 when there is no "
            "such run, 400 when the id is not a UUID."
        ),
        responses=problems((404, "no such run")),
    )
    async def get_run(self, request: AnyRequest, run_id: RunIdPath) -> RunResponse:
        run = await services_of(request).get_reconciliation_run(run_id_param(run_id))
        return RunResponse.of(run)

    @get(
        "/reconciliation/events",
        operation_id="listReconciliationEvents",
        summary="The reconciliation event log, newest first (paginated)",
        description=(
            "One `drift_check`, `drift_detected` or `error` event per finished run (its summary is the run's), "
            "and one `conflict_resolved` event per repaired row. Filters: `vendorId`, `entity` (items, stock, all), "
            "`runId`, `eventType`, `since` (inclusive) and `until` (exclusive), RFC 3339 with an offset. "
            "A bad filter is a 400 naming the parameter; `since` after `until` is an empty window (no events)."
        ),
    )
    async def list_events(
        self,
        request: AnyRequest,
        paging: Paging,
        vendor_id: VendorFilter = None,
        entity: Annotated[
            str | None,
            QueryParameter(description="Only events about this entity (`all`: the events of runs of both).",
                           schema_extra={"enum": [e.value for e in RunScope]}),
        ] = None,
        run_id: Annotated[
            str | None, QueryParameter(name="runId", description="Only this run's (a UUID).", schema_extra=UUID_SCHEMA)
        ] = None,
        event_type: Annotated[
            str | None,
            QueryParameter(name="eventType", description="Only this type.",
                           schema_extra={"enum": [t.value for t in ReconciliationEventType]}),
        ] = None,
        since: Annotated[
            str | None,
            QueryParameter(description="Created at or after (RFC 3339 with an offset).", schema_extra=DATE_TIME),
        ] = None,
        until: Annotated[
            str | None,
            QueryParameter(description="Created before (RFC 3339 with an offset).", schema_extra=DATE_TIME),
        ] = None,
    ) -> Paginated[EventResponse]:
        where = event_filter(
            vendor_id=vendor_id, entity=entity, run_id=run_id, event_type=event_type, since=since, until=until
        )
        found = await services_of(request).list_reconciliation_events(where, paging)
        return paginated(found, EventResponse.of)

    @get(
        "/metrics/reconciliation/{vendor_id:str}",
        operation_id="getReconciliationMetrics",
        summary="A vendor's reconciliation figures",
        description=(
            "`eventCount` (the vendor's events), `lastRun` (the latest finished run, or null), `driftFrequency` "
            "(`24h`, `7d`: the share of comparing runs that found drift, null when none compared), `runs` per "
            "window (total finished, compared, withDrift, byStatus, driftFound, repaired) and `recentRuns` "
            "(newest first, without samples). 400 for a malformed vendor id; a vendor without runs has zeros "
            "and nulls."
        ),
    )
    async def metrics(self, request: AnyRequest, vendor_id: VendorPath) -> ReconciliationMetricsResponse:
        figures = await services_of(request).get_reconciliation_metrics(vendor_param(vendor_id))
        return ReconciliationMetricsResponse.of(figures)
