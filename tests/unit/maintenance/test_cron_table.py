"""The cron table with a driven clock: six REQ-10 tasks plus the sweeper, each once per tick, failures isolated."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import pytest

from restosync_adapters.bootstrap import Services
from restosync_worker import cron
from restosync_worker.cron import BY_NAME, CRON_ENTRIES, CronEntry, run_scheduled_task, run_task, tick_of
from tests.fakes import FakeClock, FakeDatabase
from tests.unit.services import UNIT_SETTINGS, unit_services

AT = datetime(2026, 1, 4, 3, 0, tzinfo=UTC)  # a Sunday


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_the_table_holds_req_10s_six_tasks_and_the_sweeper_on_their_default_schedules() -> None:
    assert {e.name: e.schedule(UNIT_SETTINGS) for e in CRON_ENTRIES} == {
        "sweep-sync-jobs": "* * * * *",
        "detect-drift": "0 * * * *",
        "check-agent-health": "*/5 * * * *",
        "alert-dead-letters": "*/15 * * * *",
        "cleanup-expired-jobs": "0 2 * * *",
        "archive-reconciliation-events": "0 3 * * 0",
        "cleanup-resolved-dead-letters": "0 4 * * 6",
    }


@pytest.mark.parametrize(
    ("expression", "now", "tick"),
    [
        ("*/5 * * * *", "2026-01-01T12:00:00", "2026-01-01T12:00:00"),
        ("*/5 * * * *", "2026-01-01T12:04:59.999", "2026-01-01T12:00:00"),
        ("0 2 * * *", "2026-01-02T01:59:59", "2026-01-01T02:00:00"),
        ("0 3 * * 0", "2026-01-10T12:00:00", "2026-01-04T03:00:00"),
        ("* * * * * * *", "2026-01-01T12:00:07.5", "2026-01-01T12:00:07"),
    ],
)
def test_a_run_belongs_to_the_latest_tick_at_or_before_it(expression: str, now: str, tick: str) -> None:
    assert tick_of(expression, datetime.fromisoformat(now).replace(tzinfo=UTC)) == datetime.fromisoformat(tick).replace(
        tzinfo=UTC
    )


@asynccontextmanager
async def always_free(_key: int) -> AsyncIterator[bool]:
    yield True


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> tuple[Services, FakeClock, dict[str, int], FakeDatabase]:
    db, clock = FakeDatabase(), FakeClock(AT)
    services = unit_services(db, clock)
    services.try_lock = always_free
    calls: dict[str, int] = {}

    def counting(entry: CronEntry) -> CronEntry:
        async def task(s: Services) -> object:
            calls[entry.name] = calls.get(entry.name, 0) + 1
            if entry.name == "detect-drift" and calls[entry.name] == 1:
                raise RuntimeError("the first drift detection fails")
            return await entry.task(s)

        return CronEntry(entry.name, entry.schedule, task, entry.queue, entry.timeout_seconds)

    monkeypatch.setattr(cron, "BY_NAME", {name: counting(e) for name, e in BY_NAME.items()})
    return services, clock, calls, db


def test_each_task_runs_once_per_tick_however_often_the_tick_is_fired(world: Any) -> None:
    services, clock, calls, db = world
    for _ in range(3):  # three schedulers, or a backlog of the same tick
        for entry in CRON_ENTRIES:
            run(run_scheduled_task(entry.name, services))
    assert calls == {e.name: 1 for e in CRON_ENTRIES}
    clock.advance(minutes=5)  # the next tick of the sweeper and the health check only
    for entry in CRON_ENTRIES:
        run(run_scheduled_task(entry.name, services))
    assert calls["sweep-sync-jobs"] == 2 and calls["check-agent-health"] == 2
    assert calls["cleanup-expired-jobs"] == 1 and calls["alert-dead-letters"] == 1
    assert {task for task, _ in db.tables["task_runs"]} == {e.name for e in CRON_ENTRIES}


def test_a_failing_task_is_recorded_holds_up_nothing_and_runs_again_at_its_next_tick(world: Any) -> None:
    services, clock, calls, db = world
    assert run(run_scheduled_task("detect-drift", services)) == "failed"
    assert run(run_scheduled_task("check-agent-health", services)) == "0 checked, 0 transition(s)"
    (failed,) = [r for (task, _), r in db.tables["task_runs"].items() if task == "detect-drift"]
    assert failed["status"] == "failed" and "the first drift detection fails" in failed["detail"]
    assert run(run_scheduled_task("detect-drift", services)) == "skipped", "not again within its tick"
    clock.advance(hours=1)
    assert run(run_scheduled_task("detect-drift", services)).startswith("0 run(s) queued")
    assert calls["detect-drift"] == 2


def test_a_run_outside_the_schedule_claims_no_tick(world: Any) -> None:
    services, _clock, calls, db = world
    run(run_task("sweep-sync-jobs", services))
    run(run_task("sweep-sync-jobs", services))
    assert calls["sweep-sync-jobs"] == 2 and db.tables.get("task_runs", {}) == {}
    assert run(run_task("no-such-task", services)) == "unknown"
