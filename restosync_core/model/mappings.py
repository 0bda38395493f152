"""ERP code mappings: how a vendor's ERP codes translate to RestoMarket's."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from restosync_core.model.ids import MappingId, VendorId


class MappingType(enum.StrEnum):
    UNIT = "unit"
    VAT = "vat"
    FAMILY = "family"
    SUBFAMILY = "subfamily"


@dataclass(frozen=True, slots=True)
class Mapping:
    id: MappingId
    vendor_id: VendorId
    mapping_type: MappingType
    erp_code: str
    resto_code: str
    resto_label: str | None
    is_active: bool


@dataclass(frozen=True, slots=True)
class NewMapping:
    """A mapping as an admin writes it (create, replace, seed): everything but the id."""

    vendor_id: VendorId
    mapping_type: MappingType
    erp_code: str
    resto_code: str
    resto_label: str | None = None
    is_active: bool = True

    @property
    def key(self) -> tuple[VendorId, MappingType, str]:
        return (self.vendor_id, self.mapping_type, self.erp_code)


@dataclass(frozen=True, slots=True)
class MappingResult:
    """What ``resolve`` answers for an active mapping."""

    resto_code: str
    resto_label: str | None


@dataclass(frozen=True, slots=True)
class MappingKey:
    vendor_id: VendorId
    mapping_type: MappingType
    erp_code: str

    def cache_key(self) -> str:
        return f"{self.vendor_id}:{self.mapping_type.value}:{self.erp_code}"
