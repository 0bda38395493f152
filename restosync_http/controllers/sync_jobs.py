"""Admin views of sync jobs: a filtered page, one job, and one job's full delivery status."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, get
from litestar.params import PathParameter, QueryParameter

from restosync_core.model.delivery import SyncJobFilter
from restosync_core.model.ids import SyncJobId
from restosync_core.model.orders import SyncJobStatus
from restosync_http.dto.base import Paginated, enum_param, enum_schema
from restosync_http.dto.orders import SyncJobResponse, SyncStatusResponse
from restosync_http.guards import api_key_guard, services_of
from restosync_http.openapi import problems
from restosync_http.pagination import PAGINATION, Paging, VendorFilter, paginated, vendor_filter
from restosync_http.rate_limit import ADMIN, rate_limits

JobIdPath = Annotated[UUID, PathParameter(description="The sync job's id (the Idempotency-Key).")]


class SyncJobsController(Controller):
    path = "/api/admin"
    tags = ["sync jobs"]
    guards = [api_key_guard]
    security = [{"ApiKey": []}]
    opt = rate_limits(ADMIN)
    dependencies = PAGINATION

    @get(
        "/sync-jobs",
        operation_id="listSyncJobs",
        summary="Recent sync jobs, newest first (paginated)",
        description="Filter by `vendorId` and `status` (pending, processing, sent, completed, failed).",
    )
    async def list_jobs(
        self,
        request: Request[Any, Any, Any],
        paging: Paging,
        vendor_id: VendorFilter = None,
        status: Annotated[
            str | None,
            QueryParameter(description="Only jobs in this status.", schema_extra=enum_schema(SyncJobStatus)),
        ] = None,
    ) -> Paginated[SyncJobResponse]:
        state = enum_param(SyncJobStatus, status, "status") if status is not None else None
        result = await services_of(request).list_sync_jobs(SyncJobFilter(vendor_filter(vendor_id), state), paging)
        return paginated(result, SyncJobResponse.of)

    @get(
        "/sync-jobs/{job_id:uuid}",
        operation_id="getSyncJob",
        summary="One sync job, with its payload",
        description="404 when there is no such job.",
        responses=problems((404, "no sync job has that id")),
    )
    async def get_job(self, request: Request[Any, Any, Any], job_id: JobIdPath) -> SyncJobResponse:
        job = await services_of(request).get_sync_job(SyncJobId(job_id))
        return SyncJobResponse.of(job, with_payload=True)

    @get(
        "/sync-status/{job_id:uuid}",
        operation_id="getSyncStatus",
        summary="Full delivery status of a job: the job, its order and its dead letters",
        description="404 when there is no such job.",
        responses=problems((404, "no sync job has that id")),
    )
    async def sync_status(self, request: Request[Any, Any, Any], job_id: JobIdPath) -> SyncStatusResponse:
        return SyncStatusResponse.of(await services_of(request).get_sync_status(SyncJobId(job_id)))
