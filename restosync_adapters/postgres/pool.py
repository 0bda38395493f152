"""The async connection pool every PostgreSQL adapter of a process shares."""

from __future__ import annotations

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool


async def _configure(conn: AsyncConnection) -> None:
    await conn.set_autocommit(True)


def make_pool(url: str, *, max_size: int, min_size: int = 1, name: str = "restosync") -> AsyncConnectionPool:
    """A closed pool; open it in the process's lifespan (``await pool.open()``)."""
    return AsyncConnectionPool(
        url,
        min_size=min(min_size, max_size),
        max_size=max_size,
        open=False,
        name=name,
        kwargs={"row_factory": dict_row, "prepare_threshold": 5},
        configure=_configure,
        check=AsyncConnectionPool.check_connection,
        timeout=10.0,
    )
