"""PgUnitOfWork: one pooled connection, one transaction (or none: autocommit), the repositories bound to it."""

from __future__ import annotations

from types import TracebackType
from typing import Any, Self

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from restosync_adapters.postgres.agents import PgAgentRepository
from restosync_adapters.postgres.audit import PgAuditLog
from restosync_adapters.postgres.catalog import ITEMS, WAREHOUSES, PgKeyedRepository, PgStockRepository
from restosync_adapters.postgres.dead_letters import PgDeadLetterRepository
from restosync_adapters.postgres.errors import map_db_errors, ours
from restosync_adapters.postgres.mappings import PgMappingRepository
from restosync_adapters.postgres.orders import PgOrderRepository
from restosync_adapters.postgres.sync_jobs import PgSyncJobRepository


class PgUnitOfWork:
    """Commits when the block ends normally, rolls back otherwise.

    Repositories are attributes created on entry, all sharing the transaction's
    connection; each area adds its own in ``_bind``.
    """

    def __init__(self, pool: AsyncConnectionPool, *, autocommit: bool = False) -> None:
        self._pool = pool
        self._autocommit = autocommit
        self._conn_cm: Any = None
        self._tx_cm: Any = None
        self.conn: AsyncConnection[Any]

    async def __aenter__(self) -> Self:
        with map_db_errors():
            self._conn_cm = self._pool.connection()
            self.conn = await self._conn_cm.__aenter__()
        if self._autocommit:  # the pool's connections are in autocommit mode
            self._bind(self.conn)
            return self
        try:
            self._tx_cm = self.conn.transaction()
            await self._tx_cm.__aenter__()
        except BaseException as exc:
            await self._conn_cm.__aexit__(type(exc), exc, exc.__traceback__)
            translated = ours(exc)
            if translated is not None:
                raise translated from exc
            raise
        self._bind(self.conn)
        return self

    def _bind(self, conn: AsyncConnection[Any]) -> None:
        """Create this transaction's repositories (each area adds its own line)."""
        self.agents = PgAgentRepository(conn)
        self.items = PgKeyedRepository(conn, ITEMS)
        self.stock = PgStockRepository(conn)
        self.warehouses = PgKeyedRepository(conn, WAREHOUSES)
        self.mappings = PgMappingRepository(conn)
        self.orders = PgOrderRepository(conn)
        self.sync_jobs = PgSyncJobRepository(conn)
        self.dead_letters = PgDeadLetterRepository(conn)
        self.audit_log = PgAuditLog(conn)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with map_db_errors():  # the commit or rollback
            try:
                if self._tx_cm is not None:
                    await self._tx_cm.__aexit__(exc_type, exc, tb)
            finally:
                await self._conn_cm.__aexit__(exc_type, exc, tb)
        translated = ours(exc) if exc is not None else None  # the block's own database error
        if translated is not None:
            raise translated from exc
