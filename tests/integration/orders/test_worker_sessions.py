"""Workers commit asynchronously (their writes are all redone if a crash undoes them); the API durably."""

from __future__ import annotations

import asyncio
from typing import Any

from psycopg_pool import AsyncConnectionPool

from restosync_adapters.bootstrap import bootstrap
from restosync_adapters.settings import Settings
from restosync_worker import runtime
from tests.conftest import make_settings


async def _synchronous_commit(pool: AsyncConnectionPool) -> Any:
    async with pool.connection() as conn:
        cur = await conn.execute("SHOW synchronous_commit")
        row = await cur.fetchone()
        assert row is not None
        return row["synchronous_commit"]


def _worker_setting(settings: Settings) -> Any:
    rt = runtime.start(settings)
    try:
        assert rt.services.pool is not None
        return rt.run(_synchronous_commit(rt.services.pool))
    finally:
        runtime.stop()


async def _api_setting(settings: Settings) -> Any:
    services = bootstrap(settings)
    await services.start()
    try:
        assert services.pool is not None
        return await _synchronous_commit(services.pool)
    finally:
        await services.stop()


def test_worker_sessions_commit_asynchronously_and_the_api_durably(order_settings: Settings) -> None:
    assert _worker_setting(order_settings) == "off"
    assert asyncio.run(_api_setting(order_settings)) == "on"


def test_worker_synchronous_commit_true_keeps_the_durable_default(clean_db: str, redis_ns: str) -> None:
    assert _worker_setting(make_settings(clean_db, redis_ns, WORKER_SYNCHRONOUS_COMMIT="true")) == "on"
