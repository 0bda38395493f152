"""Mapping bodies on the wire: ``{id, vendorId, mappingType, erpCode, restoCode, restoLabel, isActive}``."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar
from uuid import UUID

import msgspec

from restosync_core.model.ids import VendorId
from restosync_core.model.mappings import UNCHANGED, Mapping, MappingChanges, MappingType, NewMapping
from restosync_core.policies.mapping_rules import MAX_CODE_LENGTH, MAX_LABEL_LENGTH
from restosync_core.use_cases.seed_mappings import SeedResult
from restosync_http.dto.base import NOT_BLANK, Dto, VendorIdField

CODES_NOT_BLANK: dict[str, Any] = {  # surrounding spaces are kept; a blank code is a 400 naming it (mapping_rules)
    "properties": {"erpCode": {"pattern": NOT_BLANK}, "restoCode": {"pattern": NOT_BLANK}},
}
ErpCode = Annotated[
    str,
    msgspec.Meta(min_length=1, max_length=MAX_CODE_LENGTH,
                 description="The code as the vendor's ERP sends it (1-64 characters, not all blank)",
                 examples=["KG"]),
]
RestoCode = Annotated[
    str,
    msgspec.Meta(min_length=1, max_length=MAX_CODE_LENGTH,
                 description="RestoMarket's code (1-64 characters, not all blank)", examples=["kilogram"]),
]
RestoLabel = Annotated[str, msgspec.Meta(max_length=MAX_LABEL_LENGTH, description="RestoMarket's label")]


class MappingRequest(Dto):
    """A mapping as written by create (POST) and each seed row."""

    openapi_extra: ClassVar[dict[str, Any]] = CODES_NOT_BLANK
    openapi_example: ClassVar[dict[str, Any] | None] = {
        "vendorId": "vendor-42", "mappingType": "unit", "erpCode": "KG", "restoCode": "kilogram",
        "restoLabel": "Kilogramme", "isActive": True,
    }

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


class MappingUpdate(Dto):
    """PUT: only the fields sent change (at least one); ``restoLabel: null`` clears the label.

    ``vendorId``, ``mappingType`` and ``erpCode`` need not be sent; sending them
    moves the mapping to that key (409 when another mapping holds it).
    """

    openapi_extra: ClassVar[dict[str, Any]] = {"min_properties": 1, **CODES_NOT_BLANK}
    openapi_example: ClassVar[dict[str, Any] | None] = {"restoLabel": "Kilogramme (kg)"}

    resto_code: RestoCode | msgspec.UnsetType = msgspec.UNSET
    resto_label: RestoLabel | msgspec.UnsetType | None = msgspec.UNSET
    is_active: bool | msgspec.UnsetType = msgspec.UNSET
    vendor_id: VendorIdField | msgspec.UnsetType = msgspec.UNSET
    mapping_type: MappingType | msgspec.UnsetType = msgspec.UNSET
    erp_code: ErpCode | msgspec.UnsetType = msgspec.UNSET

    def to_core(self) -> MappingChanges:
        def given(value: Any) -> Any:
            return UNCHANGED if value is msgspec.UNSET else value

        return MappingChanges(
            vendor_id=given(self.vendor_id),
            mapping_type=given(self.mapping_type),
            erp_code=given(self.erp_code),
            resto_code=given(self.resto_code),
            resto_label=given(self.resto_label),
            is_active=given(self.is_active),
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
    openapi_extra: ClassVar[dict[str, Any]] = {"properties": {"mappings": {"unique_items": True}}}
    openapi_example: ClassVar[dict[str, Any] | None] = {
        "mappings": [
            {"vendorId": "vendor-42", "mappingType": "unit", "erpCode": "KG", "restoCode": "kilogram"},
            {"vendorId": "vendor-42", "mappingType": "vat", "erpCode": "TVA20", "restoCode": "vat-20",
             "restoLabel": "TVA 20 %"},
        ]
    }

    mappings: list[MappingRequest]


class SeedResponse(Dto):
    created: int
    updated: int
    unchanged: int
    total: int

    @classmethod
    def of(cls, result: SeedResult) -> SeedResponse:
        return cls(created=result.created, updated=result.updated, unchanged=result.unchanged, total=result.total)
