"""Admin dead-letter queue (REQ-8): list, inspect, retry, resolve; retries and resolves are audited."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.params import PathParameter
from litestar.status_codes import HTTP_200_OK

from restosync_core.model.ids import DeadLetterId
from restosync_http.dto.base import Paginated
from restosync_http.dto.orders import DeadLetterResponse
from restosync_http.guards import api_key_guard, services_of
from restosync_http.openapi import problems
from restosync_http.pagination import PAGINATION, Paging, VendorFilter, paginated, vendor_filter
from restosync_http.rate_limit import ADMIN, rate_limits
from restosync_http.request_context import request_context

LetterIdPath = Annotated[UUID, PathParameter(description="The dead letter's id.")]


class DeadLetterController(Controller):
    path = "/api/admin/dlq"
    tags = ["dead letters"]
    guards = [api_key_guard]
    security = [{"ApiKey": []}]
    opt = rate_limits(ADMIN)
    dependencies = PAGINATION

    @get(
        "/",
        operation_id="listDeadLetters",
        summary="Unresolved dead letters, oldest first (paginated)",
        description="Optionally only one vendor's (`vendorId`).",
    )
    async def list_letters(
        self, request: Request[Any, Any, Any], paging: Paging, vendor_id: VendorFilter = None
    ) -> Paginated[DeadLetterResponse]:
        result = await services_of(request).list_dead_letters(paging, vendor_filter(vendor_id))
        return paginated(result, DeadLetterResponse.of)

    @get(
        "/{letter_id:uuid}",
        operation_id="getDeadLetter",
        summary="One dead letter with its original payload and last error",
        description="404 when there is no such entry.",
        responses=problems((404, "no dead letter has that id")),
    )
    async def get_letter(self, request: Request[Any, Any, Any], letter_id: LetterIdPath) -> DeadLetterResponse:
        letter = await services_of(request).get_dead_letter(DeadLetterId(letter_id))
        return DeadLetterResponse.of(letter, with_payload=True)

    @post(
        "/{letter_id:uuid}/retry",
        operation_id="retryDeadLetter",
        summary="Deliver the dead job again (original payload, same Idempotency-Key)",
        description=(
            "Resets the sync job to pending with a fresh set of attempts and wakes a worker. The entry stays "
            "unresolved until the job completes. 409 when resolved, or when its job is not failed. Audited."
        ),
        status_code=HTTP_200_OK,
        responses=problems(
            (404, "no dead letter has that id"), (409, "the entry is resolved, or its job is not failed")
        ),
    )
    async def retry(self, request: Request[Any, Any, Any], letter_id: LetterIdPath) -> DeadLetterResponse:
        letter = await services_of(request).retry_dead_letter(DeadLetterId(letter_id), request_context(request))
        return DeadLetterResponse.of(letter)

    @post(
        "/{letter_id:uuid}/resolve",
        operation_id="resolveDeadLetter",
        summary="Mark a dead letter resolved by hand",
        description="Resolving a resolved entry changes nothing. Audited. 404 when there is no such entry.",
        status_code=HTTP_200_OK,
        responses=problems((404, "no dead letter has that id")),
    )
    async def resolve(self, request: Request[Any, Any, Any], letter_id: LetterIdPath) -> DeadLetterResponse:
        letter = await services_of(request).resolve_dead_letter(
            DeadLetterId(letter_id), request_context(request)
        )
        return DeadLetterResponse.of(letter)
