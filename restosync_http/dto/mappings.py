"""Mapping bodies on the wire: ``{id, vendorId, mappingType, erpCode, restoCode, restoLabel, isActive}``."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import msgspec

from restosync_core.model.ids import VendorId
from restosync_core.model.mappings import Mapping, MappingType, NewMapping
from restosync_core.policies.mapping_rules import MAX_CODE_LENGTH, MAX_LABEL_LENGTH
from restosync_core.use_cases.seed_mappings import SeedResult
from restosync_http.dto.base import Dto, VendorIdField

ErpCode = Annotated[
    str, msgspec.Meta(min_length=1, max_length=MAX_CODE_LENGTH, description="The code as the vendor's ERP sends it")
]
RestoCode = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_CODE_LENGTH, description="RestoMarket's code")]
RestoLabel = Annotated[str, msgspec.Meta(max_length=MAX_LABEL_LENGTH, description="RestoMarket's label")]


class MappingRequest(Dto):
    """A mapping as written by create (POST), replace (PUT) and each seed row."""

    vendor_id: VendorIdField
    mapping_type: MappingType
    erp_code: ErpCode
    resto_code: RestoCode
    resto_label: RestoLabel | None = None
    is_active: bool = True

    def to_core(self) -> NewMapping:
        return NewMapping(
            vendor_id=VendorId(self.vendor_id),
            mapping_type=self.mapping_type,
            erp_code=self.erp_code,
            resto_code=self.resto_code,
            resto_label=self.resto_label,
            is_active=self.is_active,
        )


class MappingResponse(Dto):
    id: UUID
    vendor_id: str
    mapping_type: MappingType
    erp_code: str
    resto_code: str
    resto_label: str | None
    is_active: bool

    @classmethod
    def of(cls, m: Mapping) -> MappingResponse:
        return cls(
            id=m.id,
            vendor_id=m.vendor_id,
            mapping_type=m.mapping_type,
            erp_code=m.erp_code,
            resto_code=m.resto_code,
            resto_label=m.resto_label,
            is_active=m.is_active,
        )


class SeedRequest(Dto):
    mappings: list[MappingRequest]


class SeedResponse(Dto):
    created: int
    updated: int
    unchanged: int
    total: int

    @classmethod
    def of(cls, result: SeedResult) -> SeedResponse:
        return cls(created=result.created, updated=result.updated, unchanged=result.unchanged, total=result.total)
