"""Cron tasks run under a PostgreSQL advisory lock: a second run of the same tick is skipped."""

from __future__ import annotations

import psycopg

from restosync_worker.cron import CRON_ENTRIES, lock_key, run_task
from tests.integration.orders.conftest import Worker


def test_a_cron_task_runs_when_free_and_is_skipped_while_another_run_holds_its_lock(worker: Worker) -> None:
    assert worker.runtime.run(run_task("sweep-sync-jobs", worker.services)) == 0
    with psycopg.connect(worker.settings.database_url, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", (lock_key("sweep-sync-jobs"),))
        assert worker.runtime.run(run_task("sweep-sync-jobs", worker.services)) == "skipped"
        # Released here, synchronously: closing the connection would release it only once the server
        # has processed the disconnection, which under load can come after the next line.
        other.execute("SELECT pg_advisory_unlock(%s)", (lock_key("sweep-sync-jobs"),))
    assert worker.runtime.run(run_task("sweep-sync-jobs", worker.services)) == 0


def test_every_cron_entry_has_a_distinct_lock_and_a_valid_schedule(worker: Worker) -> None:
    from croniter import croniter

    assert len({lock_key(e.name) for e in CRON_ENTRIES}) == len(CRON_ENTRIES)
    assert all(croniter.is_valid(e.schedule(worker.settings)) for e in CRON_ENTRIES)
    assert worker.runtime.run(run_task("check-agent-health", worker.services)) == "0 checked, 0 transition(s)"


def test_a_cron_task_that_fails_leaves_no_lock_behind_on_the_pooled_connection(worker: Worker) -> None:
    import asyncio

    import pytest

    from restosync_adapters.postgres.locks import try_advisory_lock

    async def fail_while_holding() -> None:
        assert worker.services.pool is not None
        async with try_advisory_lock(worker.services.pool, lock_key("sweep-sync-jobs")) as acquired:
            assert acquired
            raise RuntimeError("the task failed")

    async def cancelled_while_holding(holding: asyncio.Event) -> None:
        assert worker.services.pool is not None
        async with try_advisory_lock(worker.services.pool, lock_key("sweep-sync-jobs")) as acquired:
            assert acquired
            holding.set()
            await asyncio.Event().wait()  # until cancelled

    async def cancel_it() -> None:
        holding = asyncio.Event()
        task = asyncio.ensure_future(cancelled_while_holding(holding))
        await asyncio.wait_for(holding.wait(), 10)  # it holds the lock now: cancel it there
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    with pytest.raises(RuntimeError):
        worker.runtime.run(fail_while_holding())
    worker.runtime.run(cancel_it())
    with psycopg.connect(worker.settings.database_url, autocommit=True) as other:
        row = other.execute("SELECT pg_try_advisory_lock(%s)", (lock_key("sweep-sync-jobs"),)).fetchone()
        assert row == (True,), "the lock stayed behind"
        other.execute("SELECT pg_advisory_unlock(%s)", (lock_key("sweep-sync-jobs"),))
    assert worker.runtime.run(run_task("sweep-sync-jobs", worker.services)) == 0
