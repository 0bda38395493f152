"""Ports for ERP code mappings."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from restosync_core.model.ids import VendorId
from restosync_core.model.mappings import MappingResult, MappingType

CodeKey = tuple[MappingType, str]
"""(mapping type, ERP code) for one vendor."""


class MappingResolver(Protocol):
    """Translate a vendor's ERP codes to RestoMarket codes (REQ-4), cached."""

    async def resolve(self, vendor_id: VendorId, mapping_type: MappingType, erp_code: str) -> MappingResult | None:
        """The active mapping for that code, or None when there is none."""
        ...

    async def resolve_many(self, vendor_id: VendorId, keys: Iterable[CodeKey]) -> dict[CodeKey, MappingResult | None]:
        """Every distinct key resolved, with at most one database query for all the cache misses."""
        ...
