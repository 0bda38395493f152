"""The registry's sequence property again, against the real PostgreSQL and Redis adapters."""

from __future__ import annotations

import asyncio

import psycopg
import redis
from hypothesis import HealthCheck, given, settings

from restosync_adapters.bootstrap import bootstrap
from restosync_adapters.passwords import BcryptTokenHasher
from restosync_adapters.settings import Settings
from restosync_core.errors import ClientError
from restosync_core.model.ids import VendorId
from restosync_core.use_cases.register_agent import Registration
from tests.strategies import REGISTRY_TOKENS, registry_operations

TOKENS = REGISTRY_TOKENS
URL = "https://agent.example/a"

operations = registry_operations(["v1", "v2"], max_size=8)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations)
def test_any_sequence_keeps_one_row_per_vendor_and_stores_no_token_in_postgres(settings: Settings, ops) -> None:
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute("TRUNCATE agent_registry, audit_log")
    # 4 rounds instead of 10 only to keep the example count affordable; the contract is the same.
    services = bootstrap(settings, token_hasher=BcryptTokenHasher(rounds=4))

    async def scenario() -> None:
        await services.start()
        try:
            for op, vendor, token, current in ops:
                try:
                    if op == "register":
                        await services.register_agent(Registration(vendor, URL, token, None, current))
                    elif op == "heartbeat":
                        await services.record_heartbeat(VendorId(vendor))
                    else:
                        await services.deregister_agent(vendor)
                except ClientError:
                    pass
        finally:
            await services.stop()

    asyncio.run(scenario())
    with psycopg.connect(settings.database_url) as conn:
        counts = conn.execute("SELECT vendor_id, count(*) FROM agent_registry GROUP BY vendor_id").fetchall()
        dump = "\n".join(r[0] for r in conn.execute(
            "SELECT agent_registry::text FROM agent_registry UNION ALL SELECT audit_log::text FROM audit_log"
        ))
    cache = redis.Redis.from_url(settings.redis_url)
    for key in cache.scan_iter(match=f"{settings.redis_prefix}:agent-token*"):
        dump += "\n" + (cache.get(key) or b"").decode()
    cache.close()
    assert all(n == 1 for _, n in counts)
    assert not any(token in dump for token in TOKENS)
