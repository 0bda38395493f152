"""Retention on the real PostgreSQL: the boundary, and 100,000 old rows deleted in chunks while the API works."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from litestar.testing import TestClient

from restosync_adapters.bootstrap import bootstrap
from restosync_adapters.settings import Settings
from restosync_core.ports.retention import Expiring, RetentionStore
from restosync_http.app import create_app
from tests.conftest import make_settings
from tests.fakes import FakeClock
from tests.integration.agent_helpers import admin_headers, register_agent
from tests.integration.ingest.helpers import insert_mappings, item_json, rows_of
from tests.waiting import wait_until

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

INSERT_COMPLETED = """
INSERT INTO sync_jobs (vendor_id, job_type, status, payload, completed_at, created_at, updated_at)
SELECT 'old', 'create-order', 'completed', '{}'::jsonb, %(at)s, %(at)s, %(at)s FROM generate_series(1, %(n)s)
"""


def _count(url: str, sql: str, *params: object) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(sql, params).fetchone()
    assert row is not None
    return int(row[0])


@pytest.fixture
def maintenance_settings(clean_db: str, redis_ns: str) -> Settings:
    return make_settings(clean_db, redis_ns, RATE_LIMITS_ENABLED="false", RETENTION_CHUNK_SIZE="5000")


def test_on_postgresql_each_kind_is_kept_at_23_59_and_deleted_at_24_01_past_its_limit(
    maintenance_settings: Settings,
) -> None:
    url = maintenance_settings.database_url
    with psycopg.connect(url, autocommit=True) as conn:
        for label, age in (("young", timedelta(hours=23, minutes=59)), ("old", timedelta(hours=24, minutes=1))):
            conn.execute(INSERT_COMPLETED.replace("'old'", f"'{label}'"), {"at": NOW - age, "n": 1})
        for label, age in (("young", timedelta(days=7) - timedelta(minutes=1)), ("old", timedelta(days=7, minutes=1))):
            conn.execute(
                "INSERT INTO sync_jobs (vendor_id, job_type, status, payload, created_at, updated_at) "
                "VALUES (%s, 'create-order', 'failed', '{}', %s, %s)",
                (label, NOW - age, NOW - age),
            )
        month = timedelta(days=30)
        for label, age in (("young", month - timedelta(minutes=1)), ("old", month + timedelta(minutes=1))):
            conn.execute(
                "INSERT INTO dead_letter_queue (vendor_id, job_type, payload, attempts, resolved, resolved_at, "
                "created_at) VALUES (%s, 'create-order', '{}', 5, true, %s, %s)",
                (label, NOW - age, NOW - age),
            )
            conn.execute(
                "INSERT INTO dead_letter_queue (vendor_id, job_type, payload, attempts, created_at) "
                "VALUES (%s, 'create-order', '{}', 5, %s)",
                (f"unresolved-{label}", NOW - age - timedelta(days=900)),
            )
            conn.execute(
                "INSERT INTO reconciliation_events (vendor_id, event_type, entity, created_at) "
                "VALUES (%s, 'drift_check', 'items', %s)",
                (label, NOW - age),
            )

    async def scenario() -> list[str]:
        services = bootstrap(maintenance_settings, clock=FakeClock(NOW))
        await services.start()
        try:
            return [
                str(await services.cleanup_expired_jobs()),
                str(await services.cleanup_resolved_dead_letters()),
                str(await services.archive_reconciliation_events()),
            ]
        finally:
            await services.stop()

    reports = asyncio.run(scenario())
    assert reports == [
        "1 completed sync jobs removed, 1 failed sync jobs removed, 0 scheduled task runs removed, "
        "0 hourly push counters removed",
        "1 resolved dead letters removed",
        "1 reconciliation events and runs removed",
    ]
    assert [r["vendor_id"] for r in rows_of(url, "SELECT vendor_id FROM sync_jobs ORDER BY 1")] == ["young", "young"]
    letters = rows_of(url, "SELECT vendor_id FROM dead_letter_queue ORDER BY 1")
    assert [r["vendor_id"] for r in letters] == ["unresolved-old", "unresolved-young", "young"]
    assert [r["vendor_id"] for r in rows_of(url, "SELECT vendor_id FROM reconciliation_events")] == ["young"]


class PausingStore:
    """The real store, stopping after its first chunk until the test has used the API (then going on)."""

    def __init__(self, inner: RetentionStore) -> None:
        self.inner = inner
        self.chunks: list[int] = []
        self.paused = threading.Event()
        self.resume = threading.Event()

    async def delete_chunk(self, what: Expiring, before: datetime, limit: int) -> int:
        deleted = await self.inner.delete_chunk(what, before, limit)
        if what is Expiring.COMPLETED_SYNC_JOBS:
            self.chunks.append(deleted)
            if len(self.chunks) == 1:
                self.paused.set()
                await asyncio.to_thread(self.resume.wait, 60)
        return deleted


def test_a_cleanup_of_100000_old_rows_runs_in_chunks_while_pushes_and_orders_keep_succeeding(
    maintenance_settings: Settings,
) -> None:
    url = maintenance_settings.database_url
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(INSERT_COMPLETED, {"at": datetime.now(UTC) - timedelta(days=2), "n": 100_000})
        conn.execute(INSERT_COMPLETED.replace("'old'", "'recent'"), {"at": datetime.now(UTC), "n": 10})
    insert_mappings(url, "v1")

    from restosync_adapters.postgres.retention import PgRetentionStore  # the real store, wrapped

    outcome: dict[str, object] = {}

    def cleanup() -> None:
        async def go() -> None:
            services = bootstrap(maintenance_settings)
            store = PausingStore(PgRetentionStore(services.pool))
            outcome["store"] = store
            services.cleanup_expired_jobs = type(services.cleanup_expired_jobs)(
                services.uow, store, services.alerts, services.clock, services.cleanup_expired_jobs.policy
            )
            await services.start()
            try:
                outcome["report"] = await services.cleanup_expired_jobs()
            finally:
                await services.stop()

        try:
            asyncio.run(go())
        except BaseException as exc:  # pragma: no cover - the assertion below names it
            outcome["error"] = exc

    with TestClient(create_app(bootstrap(maintenance_settings))) as client:
        headers = register_agent(client, "v1")
        runner = threading.Thread(target=cleanup)
        runner.start()
        try:

            def paused() -> PausingStore | None:
                assert "error" not in outcome, outcome["error"]
                store = outcome.get("store")
                return store if isinstance(store, PausingStore) and store.paused.is_set() else None

            wait_until(paused, 60, "the cleanup to finish its first chunk")
            # mid-cleanup: 5000 rows gone, 95,000 still to go
            assert _count(url, "SELECT count(*) FROM sync_jobs WHERE vendor_id = 'old'") == 95_000
            for i in range(5):
                pushed = client.post("/api/sync/items", json={"items": [item_json(f"SKU-{i}")]}, headers=headers)
                assert pushed.status_code == 200 and pushed.json()["processed"] == 1, pushed.text
                order = client.post(
                    "/api/orders",
                    json={
                        "vendorId": "v1",
                        "orderNumber": f"N-{i}",
                        "lines": [{"sku": f"SKU-{i}", "quantity": "1", "unitPrice": "2"}],
                    },
                    headers=admin_headers(client),
                )
                assert order.status_code == 201, order.text
        finally:
            if isinstance(outcome.get("store"), PausingStore):
                outcome["store"].resume.set()  # type: ignore[union-attr]
            runner.join(120)
    assert "error" not in outcome, outcome.get("error")
    report = outcome["report"]
    assert report.removed[Expiring.COMPLETED_SYNC_JOBS] == 100_000  # type: ignore[attr-defined]
    chunks = outcome["store"].chunks  # type: ignore[union-attr]
    assert chunks == [5000] * 20 + [0], "bounded chunks, until one comes back short"
    assert _count(url, "SELECT count(*) FROM sync_jobs WHERE vendor_id = 'old'") == 0
    assert _count(url, "SELECT count(*) FROM sync_jobs WHERE vendor_id = 'recent'") == 10
    assert _count(url, "SELECT count(*) FROM sync_jobs WHERE vendor_id = 'v1' AND status = 'pending'") == 5
    assert _count(url, "SELECT count(*) FROM items WHERE vendor_id = 'v1'") == 5
