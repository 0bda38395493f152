"""In-memory fakes of the core's ports: dict-backed, with real transaction semantics.

``FakeDatabase`` holds every table as plain Python data; ``FakeUnitOfWork``
snapshots it on entry and restores the snapshot when the block raises, so a
use case tested against fakes commits or rolls back exactly as with PostgreSQL;
while it is open, readers outside it (``committed_table``) see the snapshot.
Each area adds its tables to ``FakeDatabase`` and its repositories in
``FakeUnitOfWork._bind`` (fakes for one area live in ``tests/fakes/<area>.py``).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Self


class FakeClock:
    """A clock the test drives: ``advance(seconds=...)`` moves it forward."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, **delta: float) -> datetime:
        self._now += timedelta(**delta)
        return self._now

    def set(self, when: datetime) -> None:
        self._now = when


@dataclass
class FakeDatabase:
    """Every table, as dicts and lists. Areas add their fields here."""

    tables: dict[str, Any] = field(default_factory=dict)
    committed: dict[str, Any] | None = None
    """While a unit of work is open: the tables as last committed (what a reader outside it sees)."""

    def table(self, name: str, factory: type = dict) -> Any:
        return self.tables.setdefault(name, factory())

    def committed_table(self, name: str, factory: type = dict) -> Any:
        """A table as a reader outside any open unit of work sees it (PostgreSQL's read committed)."""
        tables = self.tables if self.committed is None else self.committed
        return tables.get(name) or factory()


class FakeUnitOfWork:
    """A transaction over ``FakeDatabase``; ``autocommit=True``: none, every write is seen at once and stays."""

    commits = 0

    def __init__(self, db: FakeDatabase, *, autocommit: bool = False) -> None:
        self.db = db
        self.autocommit = autocommit
        self._snapshot: dict[str, Any] | None = None
        self.committed = False

    async def __aenter__(self) -> Self:
        if not self.autocommit:
            self._snapshot = copy.deepcopy(self.db.tables)
            self.db.committed = self._snapshot
        self._bind()
        return self

    def _bind(self) -> None:
        """Create this transaction's fake repositories (each area adds its own line)."""
        from tests.fakes.agents import FakeAgentRepository

        self.agents = FakeAgentRepository(self.db)
        from tests.fakes.catalog import bind_catalog_repositories

        bind_catalog_repositories(self)
        from tests.fakes.mappings import FakeMappingRepository

        self.mappings = FakeMappingRepository(self.db)
        from tests.fakes.orders import bind_order_repositories

        bind_order_repositories(self)
        from tests.fakes.audit import FakeAuditLog

        self.audit_log = FakeAuditLog(self.db)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.autocommit:
            return
        if self.db.committed is self._snapshot:
            self.db.committed = None
        if exc_type is not None and self._snapshot is not None:
            self.db.tables.clear()
            self.db.tables.update(self._snapshot)
        else:
            self.committed = True
            FakeUnitOfWork.commits += 1


def fake_uow_factory(db: FakeDatabase) -> Any:
    def factory(*, autocommit: bool = False) -> FakeUnitOfWork:
        return FakeUnitOfWork(db, autocommit=autocommit)

    return factory
