"""The PostgreSQL and Redis mapping adapters against the real servers."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
import redis.asyncio as aioredis

from restosync_adapters.postgres.mappings import PgMappingLookup, PgMappingRepository
from restosync_adapters.postgres.pool import make_pool
from restosync_adapters.redis.clients import make_async_redis
from restosync_adapters.redis.mapping_invalidation import RedisMappingInvalidation, generation_key
from restosync_adapters.settings import Settings
from restosync_core.errors import DependencyUnavailable
from restosync_core.model.ids import VendorId
from restosync_core.model.mappings import MappingResult, MappingType, NewMapping

V1, V2 = VendorId("vendor-1"), VendorId("vendor-2")


def insert(url: str, *rows: tuple[str, str, str, str, bool]) -> None:
    with psycopg.connect(url, autocommit=True) as conn, conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO erp_code_mappings (vendor_id, mapping_type, erp_code, resto_code, is_active) "
            "VALUES (%s, %s::mapping_type, %s, %s, %s)",
            rows,
        )


def test_the_lookup_answers_only_active_mappings_of_that_vendor_and_type(settings: Settings) -> None:
    insert(
        settings.database_url,
        ("vendor-1", "unit", "KG", "kilogram", True),
        ("vendor-1", "unit", "OLD", "old", False),
        ("vendor-2", "unit", "L", "litre", True),
        ("vendor-1", "vat", "KG", "vat-kg", True),
    )

    async def scenario() -> dict[object, MappingResult]:
        pool = make_pool(settings.database_url, max_size=1)
        await pool.open()
        try:
            keys = [(MappingType.UNIT, c) for c in ("KG", "OLD", "L")] + [(MappingType.VAT, "KG")]
            keys += [(MappingType.FAMILY, f"F{i}") for i in range(3000)]
            return await PgMappingLookup(pool).find_active(V1, keys)  # type: ignore[return-value]
        finally:
            await pool.close()

    assert asyncio.run(scenario()) == {
        (MappingType.UNIT, "KG"): MappingResult("kilogram", None),
        (MappingType.VAT, "KG"): MappingResult("vat-kg", None),
    }


def test_the_lookup_reports_an_unreachable_database_as_dependency_unavailable() -> None:
    async def scenario() -> None:
        pool = make_pool("postgresql://root@127.0.0.1:1/nothing", max_size=1)
        pool.timeout = 0.5
        await pool.open(wait=False)
        try:
            await PgMappingLookup(pool).find_active(V1, [(MappingType.UNIT, "KG")])
        finally:
            await pool.close()

    with pytest.raises(DependencyUnavailable):
        asyncio.run(scenario())


def test_the_set_based_upsert_counts_and_leaves_equal_rows_untouched(settings: Settings) -> None:
    async def seed(rows: list[NewMapping]) -> tuple[int, int, int]:
        async with await psycopg.AsyncConnection.connect(settings.database_url, autocommit=True) as conn:
            conn.row_factory = psycopg.rows.dict_row  # type: ignore[assignment]
            async with conn.transaction():
                outcome = await PgMappingRepository(conn).upsert_many(rows)
        return outcome.created, outcome.updated, outcome.unchanged

    a = NewMapping(V1, MappingType.UNIT, "A", "a", None, True)
    b = NewMapping(V1, MappingType.UNIT, "B", "b", "B", True)
    assert asyncio.run(seed([a, b])) == (2, 0, 0)
    with psycopg.connect(settings.database_url) as conn:
        stamp = conn.execute("SELECT updated_at FROM erp_code_mappings WHERE erp_code = 'A'").fetchone()
    b2 = NewMapping(V1, MappingType.UNIT, "B", "b", None, True)  # label to null: a change
    c = NewMapping(V2, MappingType.UNIT, "A", "a", None, False)
    assert asyncio.run(seed([a, b2, c])) == (1, 1, 1)
    with psycopg.connect(settings.database_url) as conn:
        untouched = "SELECT updated_at FROM erp_code_mappings WHERE erp_code = 'A' AND vendor_id = 'vendor-1'"
        assert conn.execute(untouched).fetchone() == stamp
        assert conn.execute("SELECT count(*) FROM erp_code_mappings").fetchone() == (3,)
    assert asyncio.run(seed([])) == (0, 0, 0)


def test_a_generation_is_stable_until_invalidated_and_only_for_the_vendors_named(settings: Settings) -> None:
    async def scenario() -> None:
        client = make_async_redis(settings.redis_url)
        try:
            generations = RedisMappingInvalidation(client, settings.redis_prefix)
            g1, g2 = await generations.generation_of(V1), await generations.generation_of(V2)
            assert await generations.generation_of(V1) == g1
            await generations.invalidate([V1])
            assert await generations.generation_of(V1) != g1
            assert await generations.generation_of(V2) == g2
            assert await client.exists(generation_key(settings.redis_prefix, V1)) == 1
            assert generation_key(settings.redis_prefix, V1).startswith(settings.redis_prefix + ":")
        finally:
            await client.aclose()

    asyncio.run(scenario())


def test_a_lost_generation_comes_back_as_a_new_one_and_concurrent_first_readers_agree(settings: Settings) -> None:
    async def scenario() -> None:
        client = make_async_redis(settings.redis_url)
        try:
            generations = RedisMappingInvalidation(client, settings.redis_prefix)
            before = await generations.generation_of(V1)
            await client.delete(generation_key(settings.redis_prefix, V1))  # as a Redis restart would
            seen = await asyncio.gather(*(generations.generation_of(V1) for _ in range(20)))
            assert len(set(seen)) == 1 and seen[0] != before
        finally:
            await client.aclose()

    asyncio.run(scenario())


def test_an_unreachable_redis_is_reported_as_dependency_unavailable() -> None:
    async def scenario(call: str) -> None:
        client = aioredis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
        try:
            generations = RedisMappingInvalidation(client, "nowhere")
            if call == "read":
                await generations.generation_of(V1)
            else:
                await generations.invalidate([V1])
        finally:
            await client.aclose()

    for call in ("read", "invalidate"):
        with pytest.raises(DependencyUnavailable):
            asyncio.run(scenario(call))
