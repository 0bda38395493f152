"""The pool after a PostgreSQL outage: an idle connection is checked, so the first request after works."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import pytest

from restosync_adapters.postgres import pool as pool_module
from restosync_adapters.postgres.pool import make_pool
from tests.integration.test_health_outages import _via
from tests.tcp_proxy import TcpProxy


def test_after_an_outage_the_first_query_on_an_idle_connection_succeeds(
    clean_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pool_module, "CHECK_IF_IDLE_SECONDS", 0.0)  # every returned connection counts as idle
    parts = urlsplit(clean_db)
    proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432).start()

    async def scenario() -> list[object]:
        pool = make_pool(_via(clean_db, proxy.port), max_size=1)
        await pool.open(wait=True)
        try:
            async with pool.connection() as conn:
                first = await (await conn.execute("SELECT 1 AS one")).fetchone()
            proxy.stop()  # the pooled connection dies, as in a PostgreSQL restart
            proxy.start()
            async with pool.connection() as conn:  # checked, found dead, replaced
                second = await (await conn.execute("SELECT 2 AS two")).fetchone()
            return [first, second]
        finally:
            await pool.close()

    try:
        assert asyncio.run(scenario()) == [{"one": 1}, {"two": 2}]
    finally:
        proxy.stop()


def test_without_the_idle_check_the_dead_connection_would_fail(clean_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The counterpart: a connection returned moments ago is lent unchecked (no extra round trip)."""
    monkeypatch.setattr(pool_module, "CHECK_IF_IDLE_SECONDS", 3600.0)
    parts = urlsplit(clean_db)
    proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432).start()

    async def scenario() -> str:
        pool = make_pool(_via(clean_db, proxy.port), max_size=1)
        await pool.open(wait=True)
        try:
            async with pool.connection() as conn:
                await conn.execute("SELECT 1")
            proxy.stop()
            proxy.start()
            try:
                async with pool.connection() as conn:
                    await conn.execute("SELECT 1")
            except Exception as exc:
                return type(exc).__name__
            return "no error"
        finally:
            await pool.close()

    try:
        assert asyncio.run(scenario()) == "OperationalError"
    finally:
        proxy.stop()
