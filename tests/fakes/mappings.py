"""In-memory fakes of the mapping ports: the table, the resolver's lookup and the shared generations."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Collection, Sequence

from restosync_core.errors import Conflict, DependencyUnavailable
from restosync_core.model.ids import MappingId, VendorId
from restosync_core.model.mappings import Mapping, MappingResult, NewMapping
from restosync_core.model.pagination import Page, PageRequest
from restosync_core.ports.mappings import CodeKey, MappingFilter, SeedOutcome
from tests.fakes import FakeDatabase

TABLE = "erp_code_mappings"


def mapping_table(db: FakeDatabase) -> dict[MappingId, Mapping]:
    table: dict[MappingId, Mapping] = db.table(TABLE)
    return table


def _by_key(db: FakeDatabase, key: tuple[str, str, str]) -> Mapping | None:
    return next((m for m in mapping_table(db).values() if (m.vendor_id, m.mapping_type, m.erp_code) == key), None)


def _from(new: NewMapping, mapping_id: MappingId) -> Mapping:
    return Mapping(
        id=mapping_id,
        vendor_id=new.vendor_id,
        mapping_type=new.mapping_type,
        erp_code=new.erp_code,
        resto_code=new.resto_code,
        resto_label=new.resto_label,
        is_active=new.is_active,
    )


class FakeMappingRepository:
    """``uow.mappings`` over ``FakeDatabase``; ``FakeUnitOfWork`` gives it commit/rollback."""

    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    async def get(self, mapping_id: MappingId, *, for_update: bool = False) -> Mapping | None:
        return mapping_table(self.db).get(mapping_id)  # one fake transaction at a time: nothing to lock

    async def list(self, where: MappingFilter, page: PageRequest) -> Page[Mapping]:
        rows = sorted(
            (
                m
                for m in mapping_table(self.db).values()
                if (where.vendor_id is None or m.vendor_id == where.vendor_id)
                and (where.mapping_type is None or m.mapping_type == where.mapping_type)
                and (where.is_active is None or m.is_active == where.is_active)
            ),
            # as PostgreSQL's ORDER BY sorts them: by the type's name (the adapter selects it as text)
            key=lambda m: (m.vendor_id, m.mapping_type.value, m.erp_code),
        )
        chunk = rows[page.offset : page.offset + page.limit]
        return Page(items=chunk, page=page.page, limit=page.limit, total=len(rows))

    async def create(self, new: NewMapping) -> Mapping:
        if _by_key(self.db, new.key) is not None:
            raise Conflict("a mapping with that key already exists")
        mapping = _from(new, MappingId(uuid.uuid4()))
        mapping_table(self.db)[mapping.id] = mapping
        return mapping

    async def replace(self, mapping_id: MappingId, new: NewMapping) -> tuple[Mapping, Mapping] | None:
        before = mapping_table(self.db).get(mapping_id)
        if before is None:
            return None
        other = _by_key(self.db, new.key)
        if other is not None and other.id != mapping_id:
            raise Conflict("a mapping with that key already exists")
        after = _from(new, mapping_id)
        mapping_table(self.db)[mapping_id] = after
        return before, after

    async def delete(self, mapping_id: MappingId) -> Mapping | None:
        return mapping_table(self.db).pop(mapping_id, None)

    async def upsert_many(self, rows: Sequence[NewMapping]) -> SeedOutcome:
        created = updated = 0
        for row in rows:
            existing = _by_key(self.db, row.key)
            if existing is None:
                mapping = _from(row, MappingId(uuid.uuid4()))
                mapping_table(self.db)[mapping.id] = mapping
                created += 1
            elif _from(row, existing.id) != existing:
                mapping_table(self.db)[existing.id] = _from(row, existing.id)
                updated += 1
        return SeedOutcome(created=created, updated=updated, unchanged=len(rows) - created - updated)


class FakeMappingLookup:
    """``MappingLookup`` reading the committed fake table; ``queries`` records each call's keys."""

    def __init__(self, db: FakeDatabase) -> None:
        self.db = db
        self.queries: list[list[CodeKey]] = []
        self.down = False

    def _committed(self) -> dict[MappingId, Mapping]:
        """It runs outside any unit of work: it sees what is committed, not an open transaction's writes."""
        table: dict[MappingId, Mapping] = self.db.committed_table(TABLE)
        return table

    async def find_active(self, vendor_id: VendorId, keys: Sequence[CodeKey]) -> dict[CodeKey, MappingResult]:
        if self.down:
            raise DependencyUnavailable("the database is unavailable")
        self.queries.append(list(keys))
        wanted = set(keys)
        return {
            (m.mapping_type, m.erp_code): MappingResult(m.resto_code, m.resto_label)
            for m in self._committed().values()
            if m.vendor_id == vendor_id and m.is_active and (m.mapping_type, m.erp_code) in wanted
        }


class FakeMappingInvalidation:
    """The shared generations (Redis) that several fake processes' resolvers read.

    ``down`` makes every call fail as Redis would; ``reads`` counts round trips.
    """

    _tokens = itertools.count(1)

    def __init__(self) -> None:
        self.generations: dict[VendorId, str] = {}
        self.down = False
        self.reads = 0
        self.invalidations: list[frozenset[VendorId]] = []

    async def generation_of(self, vendor_id: VendorId) -> str:
        if self.down:
            raise DependencyUnavailable("Redis is unavailable")
        self.reads += 1
        return self.generations.setdefault(vendor_id, f"g{next(self._tokens)}")

    def restart(self) -> None:
        """Redis restarted without persistence: every generation is forgotten."""
        self.generations.clear()

    async def invalidate(self, vendor_ids: Collection[VendorId]) -> None:
        if self.down:
            raise DependencyUnavailable("Redis is unavailable")
        token = f"g{next(self._tokens)}"
        for vendor in vendor_ids:
            self.generations[vendor] = token
        self.invalidations.append(frozenset(vendor_ids))
