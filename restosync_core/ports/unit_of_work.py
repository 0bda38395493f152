"""The UnitOfWork port: one database transaction and the repositories bound to it.

A use case opens one with ``async with uow_factory() as uow:``; leaving the block
normally commits, leaving it with an exception rolls back. Repositories never
commit on their own. Work for other systems (telling the queue, calling an
agent) happens only after the block has committed.

Each area adds the repository it needs as an attribute here, in the Postgres
adapter (``restosync_adapters.postgres.unit_of_work``) and in the fake
(``tests.fakes``).
"""

from __future__ import annotations

from types import TracebackType
from typing import Protocol, Self

from restosync_core.ports.agents import AgentRepository
from restosync_core.ports.audit import AuditLog
from restosync_core.ports.catalog import ItemRepository, StockRepository, WarehouseRepository
from restosync_core.ports.mappings import MappingRepository
from restosync_core.ports.orders import DeadLetterRepository, OrderRepository, SyncJobRepository


class UnitOfWork(Protocol):
    """The repositories are read-only to a use case (an adapter may hold subtypes of them)."""

    @property
    def agents(self) -> AgentRepository: ...
    @property
    def items(self) -> ItemRepository: ...
    @property
    def stock(self) -> StockRepository: ...
    @property
    def warehouses(self) -> WarehouseRepository: ...
    @property
    def mappings(self) -> MappingRepository: ...
    @property
    def orders(self) -> OrderRepository: ...
    @property
    def sync_jobs(self) -> SyncJobRepository: ...
    @property
    def dead_letters(self) -> DeadLetterRepository: ...
    @property
    def audit_log(self) -> AuditLog: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self, *, autocommit: bool = False) -> UnitOfWork:
        """A unit of work; ``autocommit=True``: no transaction, every statement commits on its own.

        For a use case whose writes are ONE statement (atomic by itself): it
        saves the ``BEGIN`` and ``COMMIT`` round trips, and its reads lock
        nothing. Leaving the block with an exception undoes nothing.
        """
        ...
