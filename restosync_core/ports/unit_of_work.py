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
    agents: AgentRepository
    items: ItemRepository
    stock: StockRepository
    warehouses: WarehouseRepository
    mappings: MappingRepository
    orders: OrderRepository
    sync_jobs: SyncJobRepository
    dead_letters: DeadLetterRepository
    audit_log: AuditLog

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...
