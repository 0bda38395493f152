"""Contract fixtures: each yields one implementation of a port at a time, the fake and the real one.

A contract test takes one of these fixtures and states what the port promises;
pytest runs it once per implementation (``[fake]`` and ``[postgres]``/``[redis]``
/``[rq]``/``[http]`` in the test id), so a fake that drifts from its adapter
fails the same sentence the adapter passes. The real adapters run against the
test run's own PostgreSQL database (tables emptied per test) and Redis prefix.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

import pytest

from restosync_adapters.postgres.mappings import PgMappingLookup
from restosync_adapters.postgres.pool import make_pool
from restosync_adapters.postgres.unit_of_work import PgUnitOfWork
from restosync_adapters.redis.clients import make_async_redis
from restosync_adapters.redis.mapping_invalidation import RedisMappingInvalidation
from restosync_adapters.redis.token_cache import RedisAgentTokenCache
from restosync_core.model.audit import AuditEntry, RequestContext
from restosync_core.ports.agent_client import AgentDirectory
from restosync_core.ports.agents import AgentTokenCache
from restosync_core.ports.mappings import MappingInvalidation, MappingLookup
from restosync_core.ports.orders import SyncJobClaims
from restosync_core.ports.unit_of_work import UnitOfWork
from tests.conftest import REDIS_URL
from tests.fakes import FakeDatabase, FakeUnitOfWork
from tests.fakes.audit import AUDIT
from tests.fakes.mappings import FakeMappingLookup
from tests.fakes.orders import FakeSyncJobClaims

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
"""A whole second (PostgreSQL keeps microseconds; nothing to round)."""


def pg_adapter(name: str) -> Any:
    """The PostgreSQL adapter class ``name``, from whichever module of ``restosync_adapters.postgres`` holds it.

    The order adapters are being split into modules by noun; finding a class by name
    keeps these suites independent of that layout.
    """
    import restosync_adapters.postgres as package

    for module in pkgutil.iter_modules(package.__path__):
        found = getattr(importlib.import_module(f"{package.__name__}.{module.name}"), name, None)
        if found is not None:
            return found
    raise LookupError(f"no {name} in {package.__name__}")


def pg_sync_job_claims(pool: Any) -> SyncJobClaims:
    claims: SyncJobClaims = pg_adapter("PgSyncJobClaims")(pool)
    return claims


def pg_agent_directory(pool: Any) -> AgentDirectory:
    directory: AgentDirectory = pg_adapter("PgAgentDirectory")(pool)
    return directory


@dataclass
class Store:
    """One implementation of the database ports: units of work, the claim writes, and a read of the audit log."""

    name: str
    uow: Callable[..., UnitOfWork]
    """``uow()`` or ``uow(autocommit=True)``."""
    claims: SyncJobClaims
    lookup: MappingLookup
    """The mapping resolver's read path, outside any unit of work."""
    audit_entries: Callable[[], Awaitable[list[AuditEntry]]]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["fake", "postgres"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[Store]:
    if request.param == "fake":
        db = FakeDatabase()

        async def fake_audit() -> list[AuditEntry]:
            return list(db.table(AUDIT, list))

        yield Store("fake", partial(FakeUnitOfWork, db), FakeSyncJobClaims(db), FakeMappingLookup(db), fake_audit)
        return
    url: str = request.getfixturevalue("clean_db")
    pool = make_pool(url, max_size=3)
    await pool.open()

    async def pg_audit() -> list[AuditEntry]:
        async with pool.connection() as conn:
            cur = await conn.execute(
                "SELECT action, entity_type, entity_id, request_id, client_address, details, created_at"
                " FROM audit_log ORDER BY created_at, action"
            )
            rows = await cur.fetchall()
        return [
            AuditEntry(
                r["action"],
                r["entity_type"],
                r["entity_id"],
                RequestContext(r["request_id"], r["client_address"]),
                r["created_at"],
                r["details"],
            )
            for r in rows
        ]

    try:
        yield Store("postgres", partial(PgUnitOfWork, pool), pg_sync_job_claims(pool), PgMappingLookup(pool), pg_audit)
    finally:
        await pool.close()


@dataclass
class Shared:
    """The Redis-backed ports that every process shares, one implementation at a time."""

    name: str
    token_cache: AgentTokenCache
    """Two instances over the same store stand for two processes."""
    other_token_cache: AgentTokenCache
    invalidation: MappingInvalidation
    other_invalidation: MappingInvalidation
    lose_everything: Callable[[], Awaitable[None]]
    """What a Redis restart without persistence does."""


@pytest.fixture(params=["fake", "redis"])
async def shared(request: pytest.FixtureRequest) -> AsyncIterator[Shared]:
    if request.param == "fake":
        from tests.fakes.agents import FakeTokenCache
        from tests.fakes.mappings import FakeMappingInvalidation

        cache, invalidation = FakeTokenCache(), FakeMappingInvalidation()

        async def restart() -> None:
            invalidation.restart()

        yield Shared("fake", cache, cache, invalidation, invalidation, restart)
        return
    prefix: str = request.getfixturevalue("redis_ns")
    secret = "contract-agent-secret-0123456789"
    clients = [make_async_redis(REDIS_URL), make_async_redis(REDIS_URL)]

    async def flush_prefix() -> None:
        keys = [k async for k in clients[0].scan_iter(match=f"{prefix}:*")]
        if keys:
            await clients[0].delete(*keys)

    try:
        yield Shared(
            "redis",
            RedisAgentTokenCache(clients[0], prefix, secret),
            RedisAgentTokenCache(clients[1], prefix, secret),
            RedisMappingInvalidation(clients[0], prefix),
            RedisMappingInvalidation(clients[1], prefix),
            flush_prefix,
        )
    finally:
        for client in clients:
            await client.aclose()


@pytest.fixture
def on_exit() -> Iterator[list[Callable[[], None]]]:
    """Clean-ups a test registers (closing a server it started)."""
    hooks: list[Callable[[], None]] = []
    yield hooks
    for hook in reversed(hooks):
        hook()
