"""Ports for ERP code mappings: resolving codes, storing mappings, and telling every process of a change."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from restosync_core.model.ids import MappingId, VendorId
from restosync_core.model.mappings import Mapping, MappingResult, MappingType, NewMapping
from restosync_core.model.pagination import Page, PageRequest

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


class MappingLookup(Protocol):
    """The resolver's read path: one query, no transaction (it runs on the ingest hot path)."""

    async def find_active(self, vendor_id: VendorId, keys: Sequence[CodeKey]) -> dict[CodeKey, MappingResult]:
        """The active mappings among ``keys``, in ONE query; a key with no active mapping is absent."""
        ...


class MappingInvalidation(Protocol):
    """The shared generation of each vendor's mappings, seen by every process (API and workers).

    A process tags what it caches with the generation it read *before* querying
    the database; an entry is usable only while the generation is unchanged.
    Writers change the generation after their transaction commits, so the next
    lookup anywhere sees the change.
    """

    async def generation_of(self, vendor_id: VendorId) -> str:
        """The vendor's current generation, in one round trip (two the first time, to create it).

        A generation the store lost (restart, eviction) comes back as a new,
        never-used one, never as an old one. Raises ``DependencyUnavailable``
        when the shared store cannot be reached.
        """
        ...

    async def invalidate(self, vendor_ids: Collection[VendorId]) -> None:
        """Give each vendor a new generation never used before, in one round trip.

        Raises ``DependencyUnavailable`` when the shared store cannot be reached.
        """
        ...


@dataclass(frozen=True, slots=True)
class MappingFilter:
    vendor_id: VendorId | None = None
    mapping_type: MappingType | None = None
    is_active: bool | None = None


@dataclass(frozen=True, slots=True)
class SeedOutcome:
    """What one set-based upsert did to its rows."""

    created: int
    updated: int
    unchanged: int


class MappingRepository(Protocol):
    """The ``erp_code_mappings`` table, inside a unit of work (``uow.mappings``); never commits."""

    async def get(self, mapping_id: MappingId, *, for_update: bool = False) -> Mapping | None:
        """``for_update``: lock the row until the unit of work ends (a read-modify-write)."""
        ...

    async def list(self, where: MappingFilter, page: PageRequest) -> Page[Mapping]:
        """Ordered by vendor, type and ERP code."""
        ...

    async def create(self, new: NewMapping) -> Mapping:
        """Insert; ``Conflict`` when (vendor, type, ERP code) already exists, active or not."""
        ...

    async def replace(self, mapping_id: MappingId, new: NewMapping) -> tuple[Mapping, Mapping] | None:
        """Overwrite every field; (before, after), or None when the id is unknown.

        ``Conflict`` when the new (vendor, type, ERP code) belongs to another mapping.
        """
        ...

    async def delete(self, mapping_id: MappingId) -> Mapping | None:
        """Remove the row; the mapping as it was, or None when the id is unknown."""
        ...

    async def upsert_many(self, rows: Sequence[NewMapping]) -> SeedOutcome:
        """Insert or update every row in ONE statement; rows carry distinct keys."""
        ...
