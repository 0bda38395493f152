"""Retention use cases with a driven clock: what each cleanup deletes and keeps, and that no order is lost."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta

import pytest

from restosync_core.model.audit import RequestContext
from restosync_core.model.delivery import DeliveryOutcome
from restosync_core.model.ids import DeadLetterId, SyncJobId, VendorId
from restosync_core.model.orders import DeadLetter, OrderStatus, SyncJob, SyncJobStatus
from restosync_core.ports.alerts import AlertType
from restosync_core.ports.retention import Expiring
from tests.fakes.agents import FakeAlertSink
from tests.fakes.maintenance import FakeReconciliationEvent, FakeRetentionStore
from tests.unit.orders.world import VENDOR, World, an_order, run

MINUTE = timedelta(minutes=1)


def _jobs(w: World) -> dict[SyncJobId, SyncJob]:
    jobs: dict[SyncJobId, SyncJob] = w.db.tables["sync_jobs"]
    return jobs


def _letters(w: World) -> dict[DeadLetterId, DeadLetter]:
    letters: dict[DeadLetterId, DeadLetter] = w.db.tables["dead_letters"]
    return letters


def _alerts(w: World) -> FakeAlertSink:
    alerts = w.services("w1").alerts
    assert isinstance(alerts, FakeAlertSink)
    return alerts


def _completed_job(w: World, number: str) -> SyncJobId:
    placed = run(w.place(an_order(number)))
    assert w.deliver(placed.sync_job_id) is DeliveryOutcome.SENT
    w.complete(placed.sync_job_id, f"ERP-{number}")
    assert _jobs(w)[placed.sync_job_id].status is SyncJobStatus.COMPLETED
    return placed.sync_job_id


def _failed_job(w: World, number: str) -> SyncJobId:
    placed = run(w.place(an_order(number)))
    w.agent.fail_next(422)
    assert w.deliver(placed.sync_job_id) is DeliveryOutcome.DEAD_LETTERED
    return placed.sync_job_id


def test_a_completed_job_is_kept_at_23_59_and_deleted_at_24_01() -> None:
    w = World()
    old = _completed_job(w, "A-1")
    w.clock.advance(minutes=2)
    young = _completed_job(w, "A-2")
    w.clock.advance(hours=24, minutes=-1)  # A-1 completed 24 h 01 min ago, A-2 23 h 59 min ago
    report = run(w.services("w1").cleanup_expired_jobs())
    assert set(_jobs(w)) == {young}
    assert old not in _jobs(w)
    assert report.removed[Expiring.COMPLETED_SYNC_JOBS] == 1
    assert "1 completed sync jobs removed" in str(report)


def test_a_failed_job_is_kept_for_seven_days_and_its_dead_letter_stays_after_it_goes() -> None:
    w = World()
    failed = _failed_job(w, "A-1")
    (letter,) = _letters(w).values()
    w.clock.advance(days=7, minutes=-1)
    run(w.services("w1").cleanup_expired_jobs())
    assert failed in _jobs(w), "23:59 short of its 7 days"
    w.clock.advance(minutes=2)
    report = run(w.services("w1").cleanup_expired_jobs())
    assert failed not in _jobs(w) and report.removed[Expiring.FAILED_SYNC_JOBS] == 1
    kept = _letters(w)[letter.id]
    assert not kept.resolved and kept.sync_job_id is None and kept.payload == letter.payload


def test_a_pending_job_past_its_limit_becomes_a_dead_letter_with_an_alert_and_is_never_deleted() -> None:
    w = World()
    w.agent.fail_next(*([503] * 3))
    stuck = run(w.place(an_order("A-1")))
    w.deliver(stuck.sync_job_id)  # a failed attempt: pending, retried later
    w.clock.advance(minutes=2)
    young = run(w.place(an_order("A-2")))
    w.clock.advance(hours=24, minutes=-1)  # A-1 placed 24 h 01 min ago, A-2 23 h 59 min ago
    report = run(w.services("w1").cleanup_expired_jobs())
    assert report.dead_lettered == 1
    job = _jobs(w)[stuck.sync_job_id]
    assert job.status is SyncJobStatus.FAILED and "not delivered within 24 h" in (job.last_error or "")
    assert "503" in (job.last_error or ""), "the last delivery error is kept"
    (letter,) = _letters(w).values()
    assert letter.sync_job_id == stuck.sync_job_id and letter.payload == job.payload
    assert w.db.tables["orders"][stuck.order.id].status is OrderStatus.FAILED
    assert _jobs(w)[young.sync_job_id].status is SyncJobStatus.PENDING
    (alert,) = _alerts(w).sent
    assert alert.type is AlertType.DLQ_ENTRIES_FOUND and alert.vendor_id == VENDOR
    assert "1 order(s) of vendor acme were not delivered within 24 h" in alert.message
    assert alert.since == stuck.order.created_at
    # a week later the failed job itself may go, but its letter (and so the order) stays retrievable
    w.clock.advance(days=8)
    run(w.services("w1").cleanup_expired_jobs())
    assert stuck.sync_job_id not in _jobs(w) and not _letters(w)[letter.id].resolved


def test_a_job_a_worker_holds_right_now_is_not_dead_lettered_under_it() -> None:
    w = World()
    placed = run(w.place(an_order()))
    w.clock.advance(hours=25)
    claimed = run(w.claims.claim(placed.sync_job_id, "w9", w.clock.now(), w.clock.now() + timedelta(seconds=90)))
    assert claimed is not None
    assert run(w.services("w1").cleanup_expired_jobs()).dead_lettered == 0
    w.clock.advance(seconds=91)  # the worker died: its claim expired
    assert run(w.services("w1").cleanup_expired_jobs()).dead_lettered == 1


def test_a_job_retried_from_its_dead_letter_gets_a_full_new_period() -> None:
    w = World()
    failed = _failed_job(w, "A-1")
    (letter,) = _letters(w).values()
    w.clock.advance(hours=30)
    run(w.retry_letter(letter.id, RequestContext()))
    w.agent.fail_next(503)
    w.run_workers()
    w.clock.advance(hours=23)
    assert run(w.services("w1").cleanup_expired_jobs()).dead_lettered == 0
    assert _jobs(w)[failed].status is SyncJobStatus.PENDING
    w.clock.advance(hours=2)
    assert run(w.services("w1").cleanup_expired_jobs()).dead_lettered == 1


def test_a_dead_letter_whose_job_row_is_gone_is_retried_to_completion_under_the_same_key() -> None:
    w = World()
    failed = _failed_job(w, "A-1")
    order_id = _jobs(w)[failed].order_id
    (letter,) = _letters(w).values()
    w.clock.advance(days=8)
    run(w.services("w1").cleanup_expired_jobs())
    assert failed not in _jobs(w) and _letters(w)[letter.id].sync_job_id is None
    retried = run(w.retry_letter(letter.id, RequestContext(request_id="req-7")))
    assert retried.retry_count == 1 and retried.sync_job_id == failed
    rebuilt = _jobs(w)[failed]
    assert rebuilt.status is SyncJobStatus.PENDING and rebuilt.payload == letter.payload
    assert rebuilt.order_id == order_id and rebuilt.attempts == 0
    assert w.db.tables["orders"][order_id].status is OrderStatus.PENDING
    (entry,) = [e for e in w.db.tables["audit_log"] if e.action == "dlq.retry"]
    assert entry.details["rebuilt"] is True
    assert w.run_workers().count(DeliveryOutcome.SENT) == 1
    assert w.agent.received[-1].job_id == failed, "the same Idempotency-Key as the first delivery"
    w.complete(failed, "ERP-77")
    assert _jobs(w)[failed].status is SyncJobStatus.COMPLETED
    assert w.db.tables["orders"][order_id].status is OrderStatus.SYNCED
    assert _letters(w)[letter.id].resolved


@pytest.mark.parametrize("ids", [{}, {"jobId": "not-a-uuid", "orderId": "0b5e55ed-0000-4000-8000-000000000000"}])
def test_a_dead_letter_without_a_usable_job_id_is_rebuilt_under_a_new_id(ids: dict[str, str]) -> None:
    w = World()
    failed = _failed_job(w, "A-1")
    (letter,) = _letters(w).values()
    payload = {**{k: v for k, v in letter.payload.items() if k not in ("jobId", "orderId")}, **ids}
    _letters(w)[letter.id] = replace(letter, sync_job_id=None, payload=payload)
    del _jobs(w)[failed]
    retried = run(w.retry_letter(letter.id, RequestContext()))
    assert retried.sync_job_id is not None and retried.sync_job_id != failed
    rebuilt = _jobs(w)[retried.sync_job_id]
    assert rebuilt.order_id is None and rebuilt.payload == payload and rebuilt.status is SyncJobStatus.PENDING


def test_deletes_run_in_bounded_chunks_until_nothing_is_left() -> None:
    w = World()
    store = w.services("w1").cleanup_expired_jobs.retention
    assert isinstance(store, FakeRetentionStore)
    events = w.db.table("reconciliation_events")
    for _ in range(2500):
        events[uuid.uuid4()] = FakeReconciliationEvent(VendorId("acme"), w.clock.now())
    w.clock.advance(days=30, seconds=1)
    fresh = uuid.uuid4()
    events[fresh] = FakeReconciliationEvent(VendorId("acme"), w.clock.now() - timedelta(days=29))
    report = run(w.services("w1").archive_reconciliation_events())
    assert report.removed == {Expiring.RECONCILIATION_EVENTS: 2500}
    assert list(events) == [fresh]
    chunks = [n for what, n in store.chunks if what is Expiring.RECONCILIATION_EVENTS]
    assert chunks == [1000, 1000, 500]


def test_resolved_dead_letters_go_after_30_days_and_unresolved_ones_never() -> None:
    w = World()
    _failed_job(w, "A-1")
    _failed_job(w, "A-2")
    first, second = sorted(_letters(w).values(), key=lambda d: d.payload["orderNumber"])  # type: ignore[arg-type,return-value]
    run(w.resolve_letter(first.id, RequestContext()))
    w.clock.advance(days=30, minutes=-1)
    assert run(w.services("w1").cleanup_resolved_dead_letters()).removed[Expiring.RESOLVED_DEAD_LETTERS] == 0
    w.clock.advance(minutes=2)
    report = run(w.services("w1").cleanup_resolved_dead_letters())
    assert report.removed[Expiring.RESOLVED_DEAD_LETTERS] == 1
    assert set(_letters(w)) == {second.id}
    w.clock.advance(days=3650)
    run(w.services("w1").cleanup_resolved_dead_letters())
    assert set(_letters(w)) == {second.id}, "an unresolved letter is never deleted"


def test_reconciliation_events_are_kept_30_days_to_the_minute() -> None:
    w = World()
    events = w.db.table("reconciliation_events")
    now = w.clock.now()
    events["old"] = FakeReconciliationEvent(VendorId("acme"), now - timedelta(days=30, minutes=1))
    events["young"] = FakeReconciliationEvent(VendorId("acme"), now - timedelta(days=30) + MINUTE)
    assert str(run(w.services("w1").archive_reconciliation_events())) == "1 reconciliation events and runs removed"
    assert list(events) == ["young"]


def test_nothing_to_clean_is_reported_as_such() -> None:
    w = World()
    report = run(w.services("w1").cleanup_expired_jobs())
    assert report.dead_lettered == 0 and set(report.removed.values()) == {0}
    assert str(run(w.services("w1").cleanup_resolved_dead_letters())) == "0 resolved dead letters removed"


def test_an_alert_channel_down_does_not_undo_the_dead_letters() -> None:
    w = World()
    placed = run(w.place(an_order()))
    w.clock.advance(hours=25)
    _alerts(w).failing = True
    assert run(w.services("w1").cleanup_expired_jobs()).dead_lettered == 1
    assert _jobs(w)[placed.sync_job_id].status is SyncJobStatus.FAILED and len(_letters(w)) == 1


def test_many_undelivered_jobs_are_dead_lettered_chunk_by_chunk_and_told_in_one_alert() -> None:
    w = World()
    w.register_agent("bistro", "http://agent.bistro.test")
    for i in range(150):
        run(w.place(an_order(f"A-{i}", "acme" if i % 3 else "bistro")))
    w.clock.advance(hours=25)
    assert run(w.services("w1").cleanup_expired_jobs()).dead_lettered == 150
    assert len(_letters(w)) == 150
    assert {j.status for j in _jobs(w).values()} == {SyncJobStatus.FAILED}
    assert [(a.vendor_id, a.details["deadLettered"]) for a in _alerts(w).sent] == [("acme", 100), ("bistro", 50)]
