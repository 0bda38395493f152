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
    assert worker.runtime.run(run_task("sweep-sync-jobs", worker.services)) == 0


def test_every_cron_entry_has_a_distinct_lock_and_a_valid_schedule(worker: Worker) -> None:
    from croniter import croniter

    assert len({lock_key(e.name) for e in CRON_ENTRIES}) == len(CRON_ENTRIES)
    assert all(croniter.is_valid(e.schedule(worker.settings)) for e in CRON_ENTRIES)
    assert worker.runtime.run(run_task("check-agent-health", worker.services)) == "0 checked, 0 transition(s)"
