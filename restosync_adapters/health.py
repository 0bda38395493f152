"""Health probes for ``GET /health``: database, Redis, queues, agents, memory and disk."""

from __future__ import annotations

import os
import resource
import shutil
from dataclasses import dataclass
from pathlib import Path

import redis.asyncio as aioredis
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from restosync_adapters.queues import LOGICAL_QUEUES, rq_queue_key
from restosync_core.policies.agent_health import DEGRADED_AFTER
from restosync_core.ports.health import ProbeResult

ONLINE_WITHIN_SECONDS = DEGRADED_AFTER.total_seconds()
"""An agent silent for longer is degraded or offline (``restosync_core.policies.agent_health``)."""


def _short(exc: BaseException) -> str:
    """A class name and first line only: no SQL, no stack, no credentials."""
    first = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {first}"[:200] if first else type(exc).__name__


@dataclass
class DatabaseProbe:
    pool: AsyncConnectionPool
    name: str = "database"
    required: bool = True

    async def check(self) -> ProbeResult:
        try:
            async with self.pool.connection(timeout=2.0) as conn:
                await conn.execute("SELECT 1")
        except Exception as exc:
            return ProbeResult(up=False, error=_short(exc))
        return ProbeResult(up=True)


@dataclass
class RedisProbe:
    redis: aioredis.Redis
    name: str = "redis"
    required: bool = True

    async def check(self) -> ProbeResult:
        try:
            await self.redis.ping()
        except Exception as exc:
            return ProbeResult(up=False, error=_short(exc))
        return ProbeResult(up=True)


@dataclass
class QueuesProbe:
    """Waiting jobs per logical RQ queue (the spec's ``bullmq`` entry)."""

    redis: aioredis.Redis
    prefix: str
    name: str = "queues"
    required: bool = True

    async def check(self) -> ProbeResult:
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for logical in LOGICAL_QUEUES:
                    pipe.llen(rq_queue_key(self.prefix, logical))
                counts = await pipe.execute()
        except Exception as exc:
            return ProbeResult(up=False, error=_short(exc))
        return ProbeResult(up=True, details={"queues": dict(zip(LOGICAL_QUEUES, counts, strict=True))})


_AGENT_COUNTS = """
SELECT count(*) FILTER (
           WHERE COALESCE(last_heartbeat_at, registered_at) >= now() - make_interval(secs => %s)
       ) AS online,
       count(*) AS total
FROM agent_registry
"""


@dataclass
class AgentsProbe:
    """Agents online (a heartbeat within 60 s) out of all registered; informative, not required."""

    pool: AsyncConnectionPool
    name: str = "agents"
    required: bool = False

    async def check(self) -> ProbeResult:
        try:
            async with self.pool.connection(timeout=2.0) as conn:
                cur = conn.cursor(row_factory=dict_row)
                await cur.execute(_AGENT_COUNTS, (ONLINE_WITHIN_SECONDS,))
                row = await cur.fetchone()
        except Exception as exc:
            return ProbeResult(up=False, error=_short(exc))
        assert row is not None
        return ProbeResult(up=True, details={"online": row["online"], "total": row["total"]})


def current_rss_bytes() -> int:
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:  # not Linux: fall back to the peak
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


@dataclass
class MemoryProbe:
    max_rss_mb: int
    name: str = "memory_heap"
    required: bool = True

    async def check(self) -> ProbeResult:
        rss_mb = current_rss_bytes() / 2**20
        details: dict[str, object] = {"rssMb": round(rss_mb, 1), "maxRssMb": self.max_rss_mb}
        if rss_mb > self.max_rss_mb:
            return ProbeResult(up=False, details=details, error=f"RSS above {self.max_rss_mb} MB")
        return ProbeResult(up=True, details=details)


@dataclass
class DiskProbe:
    min_free_mb: int
    path: Path = Path(".")
    name: str = "disk"
    required: bool = True

    async def check(self) -> ProbeResult:
        usage = shutil.disk_usage(self.path)
        free_mb = usage.free / 2**20
        details: dict[str, object] = {"freeMb": round(free_mb), "minFreeMb": self.min_free_mb}
        if free_mb < self.min_free_mb:
            return ProbeResult(up=False, details=details, error=f"less than {self.min_free_mb} MB free")
        return ProbeResult(up=True, details=details)
