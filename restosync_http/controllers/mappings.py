"""ERP code mapping admin endpoints (REQ-4, REQ-15): list, read, create, replace, soft-delete and seed."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, delete, get, post, put
from litestar.params import JSONBody, PathParameter, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from restosync_core.errors import ValidationFailed
from restosync_core.model.ids import MappingId, VendorId
from restosync_core.model.mappings import MappingType
from restosync_core.ports.mappings import MappingFilter
from restosync_http.dto.base import Paginated
from restosync_http.dto.mappings import MappingRequest, MappingResponse, SeedRequest, SeedResponse
from restosync_http.guards import api_key_guard, services_of
from restosync_http.pagination import PAGINATION, Paging, paginated
from restosync_http.rate_limit import ADMIN, rate_limits

AnyRequest = Request[Any, Any, Any]
MappingIdPath = Annotated[UUID, PathParameter(description="The mapping's id.")]

_WRITE_NOTE = (
    " Every process's resolver cache (API and workers) sees the change on its next lookup; "
    "with Redis unreachable the write is refused (503) and nothing is written."
)


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
            "Paginated, ordered by vendor, type and ERP code. Filters: `vendorId`, `type` (alias "
            "`mappingType`) and `isActive`; inactive (soft-deleted) mappings are listed unless filtered out."
        ),
    )
    async def list_mappings(
        self,
        request: AnyRequest,
        paging: Paging,
        vendor_id: Annotated[str | None, QueryParameter(name="vendorId", description="Only this vendor's.")] = None,
        type_: Annotated[MappingType | None, QueryParameter(name="type", description="Only this type.")] = None,
        mapping_type: Annotated[
            MappingType | None, QueryParameter(name="mappingType", description="Same as `type`.")
        ] = None,
        is_active: Annotated[
            bool | None, QueryParameter(name="isActive", description="Only active or inactive.")
        ] = None,
    ) -> Paginated[MappingResponse]:
        if type_ and mapping_type and type_ != mapping_type:
            raise ValidationFailed("type and mappingType disagree; give one of them", path="mappingType")
        where = MappingFilter(
            vendor_id=VendorId(vendor_id) if vendor_id is not None else None,
            mapping_type=type_ or mapping_type,
            is_active=is_active,
        )
        found = await services_of(request).list_mappings(where, paging)
        return paginated(found, MappingResponse.of)

    @get(
        "/{mapping_id:uuid}",
        operation_id="getMapping",
        summary="Get one ERP code mapping",
        description="Active or not; 404 when no mapping has that id.",
    )
    async def get_mapping(self, request: AnyRequest, mapping_id: MappingIdPath) -> MappingResponse:
        return MappingResponse.of(await services_of(request).get_mapping(MappingId(mapping_id)))

    @post(
        "/",
        operation_id="createMapping",
        summary="Create one ERP code mapping",
        description=(
            "201 with the stored mapping. 409 when the vendor already has a mapping for that type and ERP code, "
            "even an inactive one (reactivate it with PUT, or seed it)." + _WRITE_NOTE
        ),
        status_code=HTTP_201_CREATED,
    )
    async def create(self, request: AnyRequest, data: JSONBody[MappingRequest]) -> MappingResponse:
        created = await services_of(request).create_mapping(data.to_core())
        return MappingResponse.of(created)

    @put(
        "/{mapping_id:uuid}",
        operation_id="updateMapping",
        summary="Replace an ERP code mapping",
        description=(
            "Every field is replaced (omitted `restoLabel` becomes null, omitted `isActive` true). "
            "404 for an unknown id; 409 when the new vendor, type and ERP code belong to another mapping."
            + _WRITE_NOTE
        ),
    )
    async def update(
        self, request: AnyRequest, mapping_id: MappingIdPath, data: JSONBody[MappingRequest]
    ) -> MappingResponse:
        updated = await services_of(request).update_mapping(MappingId(mapping_id), data.to_core())
        return MappingResponse.of(updated)

    @delete(
        "/{mapping_id:uuid}",
        operation_id="deleteMapping",
        summary="Soft-delete an ERP code mapping",
        description=(
            "Sets `isActive` to false and answers the mapping; the row stays, so ingest treats the code as "
            "unmapped. Deleting again answers the same. 404 for an unknown id." + _WRITE_NOTE
        ),
        status_code=HTTP_200_OK,
    )
    async def soft_delete(self, request: AnyRequest, mapping_id: MappingIdPath) -> MappingResponse:
        deleted = await services_of(request).delete_mapping(MappingId(mapping_id))
        return MappingResponse.of(deleted)

    @post(
        "/seed",
        operation_id="seedMappings",
        summary="Seed ERP code mappings in bulk",
        description=(
            "Upserts every row of `mappings` in one statement, keyed by (vendorId, mappingType, erpCode): "
            "missing rows are created, differing ones updated (a soft-deleted row is reactivated when the row "
            "says `isActive: true`), equal ones left unchanged; the answer counts each. Repeating a seed "
            "changes nothing. All or nothing: an invalid row, or a key repeated within the seed, is a 400 "
            "naming it (`$.mappings[3].erpCode`) and nothing is written. At most `MAPPING_SEED_MAX_ROWS` rows "
            "(default 5000); more is a 413 naming the limit." + _WRITE_NOTE
        ),
        status_code=HTTP_200_OK,
    )
    async def seed(self, request: AnyRequest, data: JSONBody[SeedRequest]) -> SeedResponse:
        result = await services_of(request).seed_mappings([row.to_core() for row in data.mappings])
        return SeedResponse.of(result)
