"""ERP code mapping admin endpoints (REQ-4, REQ-15): list, read, create, update, delete and seed."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, delete, get, post, put
from litestar.params import JSONBody, PathParameter, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from restosync_core.model.ids import MappingId
from restosync_core.model.mappings import MappingType
from restosync_core.ports.mappings import MappingFilter
from restosync_http.dto.base import Paginated, enum_param, enum_schema
from restosync_http.dto.mappings import MappingRequest, MappingResponse, MappingUpdate, SeedRequest, SeedResponse
from restosync_http.guards import api_key_guard, services_of
from restosync_http.openapi import problems
from restosync_http.pagination import PAGINATION, Paging, VendorFilter, paginated, vendor_filter
from restosync_http.rate_limit import ADMIN, rate_limits
from restosync_http.request_context import request_context

AnyRequest = Request[Any, Any, Any]
MappingIdPath = Annotated[UUID, PathParameter(description="The mapping's id.")]
TypeFilter = Annotated[
    str | None,
    QueryParameter(name="mappingType", description="Only this type.", schema_extra=enum_schema(MappingType)),
]

_WRITE_NOTE = (
    " Every process's resolver cache (API and workers) sees the change on its next lookup; "
    "with Redis unreachable the write is refused (503) and nothing is written. Audited."
)
_NO_MAPPING = (404, "no mapping has that id")


class MappingsController(Controller):
    path = "/api/admin/mappings"
    tags = ["admin", "mappings"]
    guards = [api_key_guard]
    opt = rate_limits(ADMIN)
    dependencies = PAGINATION
    security = [{"ApiKey": []}]

    @get(
        "/",
        operation_id="listMappings",
        summary="List ERP code mappings",
        description=(
            "Paginated, ordered by vendor, type and ERP code. Filters: `vendorId`, `mappingType` and "
            "`isActive`; inactive mappings are listed unless filtered out."
        ),
    )
    async def list_mappings(
        self,
        request: AnyRequest,
        paging: Paging,
        vendor_id: VendorFilter = None,
        mapping_type: TypeFilter = None,
        is_active: Annotated[
            bool | None, QueryParameter(name="isActive", description="Only active or inactive.")
        ] = None,
    ) -> Paginated[MappingResponse]:
        kind = enum_param(MappingType, mapping_type, "mappingType") if mapping_type is not None else None
        where = MappingFilter(vendor_id=vendor_filter(vendor_id), mapping_type=kind, is_active=is_active)
        found = await services_of(request).list_mappings(where, paging)
        return paginated(found, MappingResponse.of)

    @get(
        "/{mapping_id:uuid}",
        operation_id="getMapping",
        summary="Get one ERP code mapping",
        description="Active or not; 404 when no mapping has that id (a deleted one included).",
        responses=problems(_NO_MAPPING),
    )
    async def get_mapping(self, request: AnyRequest, mapping_id: MappingIdPath) -> MappingResponse:
        return MappingResponse.of(await services_of(request).get_mapping(MappingId(mapping_id)))

    @post(
        "/",
        operation_id="createMapping",
        summary="Create one ERP code mapping",
        description=(
            "201 with the stored mapping. 409 when the vendor already has a mapping for that type and ERP code, "
            "even an inactive one (reactivate it with PUT, or seed it); the problem's `errors[0]` carries "
            "`existingId` and `existingIsActive`." + _WRITE_NOTE
        ),
        status_code=HTTP_201_CREATED,
        responses=problems((409, "the vendor already has a mapping for that type and ERP code")),
    )
    async def create(self, request: AnyRequest, data: JSONBody[MappingRequest]) -> MappingResponse:
        created = await services_of(request).create_mapping(data.to_core(), context=request_context(request))
        return MappingResponse.of(created)

    @put(
        "/{mapping_id:uuid}",
        operation_id="updateMapping",
        summary="Update an ERP code mapping (only the fields sent)",
        description=(
            "Send any of `restoCode`, `restoLabel` (null clears it) and `isActive` (false deactivates: ingest "
            "then treats the code as unmapped; true reactivates); what is omitted keeps its value, and the "
            "mapping's identity (vendor, type, ERP code) need not be sent. Sending `vendorId`, `mappingType` or "
            "`erpCode` moves the mapping to that key. An empty body is a 400. 404 for an unknown id; 409 when "
            "the new key belongs to another mapping." + _WRITE_NOTE
        ),
        responses=problems(_NO_MAPPING, (409, "the new vendor, type and ERP code belong to another mapping")),
    )
    async def update(
        self, request: AnyRequest, mapping_id: MappingIdPath, data: JSONBody[MappingUpdate]
    ) -> MappingResponse:
        updated = await services_of(request).update_mapping(
            MappingId(mapping_id), data.to_core(), context=request_context(request)
        )
        return MappingResponse.of(updated)

    @delete(
        "/{mapping_id:uuid}",
        operation_id="deleteMapping",
        summary="Delete an ERP code mapping",
        description=(
            "Removes the mapping and answers it as it was; ingest then treats the code as unmapped, a later "
            "`GET` of the id is a 404 and the key can be created again. The audit log keeps every field of "
            "the removed mapping. To stop using a mapping but keep it, `PUT` `isActive: false` instead. "
            "404 for an unknown (or already deleted) id." + _WRITE_NOTE
        ),
        status_code=HTTP_200_OK,
        responses=problems(_NO_MAPPING),
    )
    async def remove(self, request: AnyRequest, mapping_id: MappingIdPath) -> MappingResponse:
        deleted = await services_of(request).delete_mapping(MappingId(mapping_id), context=request_context(request))
        return MappingResponse.of(deleted)

    @post(
        "/seed",
        operation_id="seedMappings",
        summary="Seed ERP code mappings in bulk",
        description=(
            "Upserts every row of `mappings` in one statement, keyed by (vendorId, mappingType, erpCode): "
            "missing rows are created, differing ones updated (an inactive row is reactivated when the row "
            "says `isActive: true`), equal ones left unchanged; the answer counts each. Repeating a seed "
            "changes nothing. All or nothing: an invalid row, or the same row twice, is a 400 naming it "
            "(`$.mappings[3].erpCode`); two rows giving one key different values are a 409 naming the later "
            "one; either way nothing is written. At most `MAPPING_SEED_MAX_ROWS` rows (default 5000); more is "
            "a 413 naming the limit." + _WRITE_NOTE.removesuffix(" Audited.")
        ),
        status_code=HTTP_200_OK,
        responses=problems(
            (409, "two rows give one (vendorId, mappingType, erpCode) different values"),
            (413, "more rows than MAPPING_SEED_MAX_ROWS"),
        ),
    )
    async def seed(self, request: AnyRequest, data: JSONBody[SeedRequest]) -> SeedResponse:
        result = await services_of(request).seed_mappings([row.to_core() for row in data.mappings])
        return SeedResponse.of(result)
