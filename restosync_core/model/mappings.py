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


class Unchanged(enum.Enum):
    """The value of a ``MappingChanges`` field the request did not give: keep the stored one."""

    UNCHANGED = "unchanged"


UNCHANGED = Unchanged.UNCHANGED


@dataclass(frozen=True, slots=True)
class MappingChanges:
    """A partial update (PUT): the fields given change, the others keep their stored value.

    ``resto_label=None`` clears the label; ``UNCHANGED`` keeps it.
    """

    vendor_id: VendorId | Unchanged = UNCHANGED
    mapping_type: MappingType | Unchanged = UNCHANGED
    erp_code: str | Unchanged = UNCHANGED
    resto_code: str | Unchanged = UNCHANGED
    resto_label: str | Unchanged | None = UNCHANGED
    is_active: bool | Unchanged = UNCHANGED

    @property
    def is_empty(self) -> bool:
        return all(
            value is UNCHANGED
            for value in (self.vendor_id, self.mapping_type, self.erp_code, self.resto_code, self.resto_label,
                          self.is_active)
        )

    def applied_to(self, current: Mapping) -> NewMapping:
        """``current`` with these changes: what the row becomes."""
        return NewMapping(
            vendor_id=current.vendor_id if self.vendor_id is UNCHANGED else self.vendor_id,
            mapping_type=current.mapping_type if self.mapping_type is UNCHANGED else self.mapping_type,
            erp_code=current.erp_code if self.erp_code is UNCHANGED else self.erp_code,
            resto_code=current.resto_code if self.resto_code is UNCHANGED else self.resto_code,
            resto_label=current.resto_label if self.resto_label is UNCHANGED else self.resto_label,
            is_active=current.is_active if self.is_active is UNCHANGED else self.is_active,
        )


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
