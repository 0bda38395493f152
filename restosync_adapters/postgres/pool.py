"""The async connection pool every PostgreSQL adapter of a process shares."""

from __future__ import annotations

import logging
import time
import weakref
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

CHECK_IF_IDLE_SECONDS = 2.0
"""A connection last lent longer ago than this is checked before it is lent again."""

_lent_at: weakref.WeakKeyDictionary[AsyncConnection[Any], float] = weakref.WeakKeyDictionary()


async def _configure(conn: AsyncConnection[Any]) -> None:
    await conn.set_autocommit(True)


async def _check_if_idle(conn: AsyncConnection[Any]) -> None:
    """Check a connection that sat idle (PostgreSQL may have restarted meanwhile).

    A connection returned moments ago worked moments ago: checking it would add a
    round trip to every transaction under load. One that sat idle is checked, so a
    PostgreSQL restart costs no failed request once traffic resumes.

    Idleness is counted from when the connection was last lent, not returned: never
    shorter than the real idle time, so a connection is checked at least whenever
    the "returned" rule would check it. Noting the return would need a ``reset``
    callback, which makes psycopg-pool hand every returned connection to its
    maintenance task: CPU on each checkout/return pair, for nothing.
    """
    now = time.monotonic()
    lent = _lent_at.get(conn)
    _lent_at[conn] = now
    if lent is None or now - lent > CHECK_IF_IDLE_SECONDS:
        await AsyncConnectionPool.check_connection(conn)


class _OncePerOutage(logging.Filter):
    """psycopg-pool warns on every failed connection attempt; keep the first of an outage.

    The outage ends when the pool adds a connection again (logged at INFO); a repeat is
    let through anyway after ``REPEAT_AFTER_SECONDS``, so a long outage stays visible.
    """

    REPEAT_AFTER_SECONDS = 300.0
    _FAILURES = ("error connecting in", "discarding closed connection")

    def __init__(self) -> None:
        super().__init__()
        self.last: dict[str, float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        if message.startswith("adding new connection"):
            self.last.clear()
            return True
        kind = next((k for k in self._FAILURES if message.startswith(k)), None)
        if kind is None:
            return True
        now = time.monotonic()
        if now - self.last.get(kind, -self.REPEAT_AFTER_SECONDS) < self.REPEAT_AFTER_SECONDS:
            return False
        self.last[kind] = now
        return True


_pool_log = logging.getLogger("psycopg.pool")
if not any(isinstance(f, _OncePerOutage) for f in _pool_log.filters):
    _pool_log.addFilter(_OncePerOutage())


def make_pool(
    url: str, *, max_size: int, min_size: int = 1, name: str = "restosync", synchronous_commit: bool = True
) -> AsyncConnectionPool:
    """A closed pool; open it in the process's lifespan (``await pool.open()``).

    ``synchronous_commit=False``: its sessions commit without waiting for the WAL flush
    (PostgreSQL's asynchronous commit: a server crash may undo the last few hundred
    milliseconds of their commits, never corrupt or half-apply one). Only for processes
    whose every write is redone if lost: the workers (docs/orders.md).
    """
    kwargs: dict[str, Any] = {"row_factory": dict_row, "prepare_threshold": 5}
    if not synchronous_commit:
        kwargs["options"] = "-c synchronous_commit=off"
    return AsyncConnectionPool(
        url,
        min_size=min(min_size, max_size),
        max_size=max_size,
        open=False,
        name=name,
        kwargs=kwargs,
        configure=_configure,
        check=_check_if_idle,
        timeout=10.0,
    )
