"""Seed mappings in bulk: one set-based upsert, all or nothing, idempotent, with counts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from restosync_core.errors import Conflict, PayloadTooLarge
from restosync_core.model.ids import VendorId
from restosync_core.model.mappings import NewMapping
from restosync_core.policies.mapping_rules import check_seed_rows
from restosync_core.ports.mappings import MappingInvalidation
from restosync_core.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from restosync_core.use_cases._mapping_writes import write_mappings

DEFAULT_MAX_ROWS = 5000


@dataclass(frozen=True, slots=True)
class SeedResult:
    created: int
    updated: int
    unchanged: int

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


def _check_no_disagreement(rows: Sequence[NewMapping]) -> None:
    """``Conflict`` naming the first row that gives an earlier row's key other values.

    Two rows cannot both be stored for one (vendorId, mappingType, erpCode): the
    seed contradicts itself, and which row should win is not ours to guess. (The
    same row twice is a 400 by ``check_seed_rows``: the OpenAPI document says
    the rows are unique.)
    """
    first_seen: dict[tuple[str, str, str], int] = {}
    for index, row in enumerate(rows):
        earlier = first_seen.setdefault(row.key, index)
        if earlier != index and rows[earlier] != row:
            path = f"$.mappings[{index}].erpCode"
            raise Conflict(
                f"row {index} gives the vendorId, mappingType and erpCode of row {earlier} other values at {path}",
                detail={"path": path, "row": earlier},
            )


@dataclass(frozen=True, slots=True)
class SeedMappings:
    uow: UnitOfWorkFactory
    invalidation: MappingInvalidation
    max_rows: int = DEFAULT_MAX_ROWS

    async def __call__(self, rows: Sequence[NewMapping]) -> SeedResult:
        """Create missing rows, update differing ones, leave equal ones; nothing is written if any row is bad.

        Every vendor named in the seed has its cache invalidated, changed or not, so
        repeating a seed is also how to repair a lost invalidation.
        """
        max_rows = self.max_rows
        if len(rows) > max_rows:
            raise PayloadTooLarge(
                f"a seed holds at most {max_rows} mappings (MAPPING_SEED_MAX_ROWS); this one holds {len(rows)}",
                detail={"limit": max_rows, "received": len(rows)},
            )
        _check_no_disagreement(rows)
        check_seed_rows(rows)

        async def work(tx: UnitOfWork) -> tuple[SeedResult, set[VendorId]]:
            outcome = await tx.mappings.upsert_many(rows)
            result = SeedResult(outcome.created, outcome.updated, outcome.unchanged)
            return result, {row.vendor_id for row in rows}

        return await write_mappings(self.uow, self.invalidation, work)
