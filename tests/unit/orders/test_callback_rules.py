"""The callback rules of docs/agent-protocol.md, against fakes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from restosync_core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from restosync_core.model.delivery import AgentCallback, CallbackResult, CallbackStatus, DeliveryOutcome
from restosync_core.model.ids import SyncJobId, VendorId
from restosync_core.model.orders import SyncJobStatus
from tests.unit.orders.world import VENDOR, World, an_order, run


def _sent(w: World) -> SyncJobId:
    placed = run(w.place(an_order()))
    assert w.deliver(placed.sync_job_id) is DeliveryOutcome.SENT
    return placed.sync_job_id


def test_the_same_completed_callback_twice_answers_unchanged() -> None:
    w = World()
    job_id = _sent(w)
    assert w.complete(job_id, "ERP-1")[0] is CallbackResult.APPLIED
    completed_at = w.job(job_id).completed_at
    w.clock.advance(seconds=5)
    assert w.complete(job_id, "ERP-1")[0] is CallbackResult.UNCHANGED
    assert w.job(job_id).completed_at == completed_at


def test_a_second_completed_callback_with_another_reference_is_a_conflict() -> None:
    w = World()
    job_id = _sent(w)
    w.complete(job_id, "ERP-1")
    with pytest.raises(Conflict):
        w.complete(job_id, "ERP-2")
    assert w.job(job_id).erp_reference == "ERP-1"


def test_a_callback_for_another_vendors_job_is_forbidden_and_changes_nothing() -> None:
    w = World()
    job_id = _sent(w)
    with pytest.raises(Forbidden):
        w.complete(job_id, "ERP-1", vendor="intruder")
    assert w.job(job_id).status is SyncJobStatus.SENT


def test_a_callback_for_an_unknown_job_is_not_found() -> None:
    w = World()
    with pytest.raises(NotFound):
        w.complete(SyncJobId(__import__("uuid").uuid4()))


def test_a_completed_callback_needs_an_erp_reference() -> None:
    w = World()
    job_id = _sent(w)
    with pytest.raises(ValidationFailed):
        run(w.callback(VendorId(VENDOR), AgentCallback(job_id, CallbackStatus.COMPLETED, "  ")))


def test_a_failed_callback_fails_the_attempt_and_schedules_the_retry_once() -> None:
    w = World()
    job_id = _sent(w)
    assert w.fail(job_id, "unknown sku")[0] is CallbackResult.APPLIED
    job = w.job(job_id)
    assert job.status is SyncJobStatus.PENDING and "unknown sku" in (job.last_error or "")
    assert job.next_attempt_at == w.clock.now() + timedelta(seconds=60)
    assert w.fail(job_id, "unknown sku")[0] is CallbackResult.UNCHANGED
    assert w.job(job_id) == job


def test_a_failed_callback_after_the_last_attempt_moves_the_job_to_the_dead_letters() -> None:
    w = World()
    placed = run(w.place(an_order()))
    job_id = placed.sync_job_id
    for _ in range(w.policy.max_attempts):
        assert w.deliver(job_id) is DeliveryOutcome.SENT
        w.fail(job_id)
        w.clock.advance(seconds=1000)
    assert w.job(job_id).status is SyncJobStatus.FAILED
    assert len(w.db.tables["dead_letters"]) == 1
    assert w.fail(job_id)[0] is CallbackResult.UNCHANGED


def test_a_failed_callback_after_completion_is_a_conflict() -> None:
    w = World()
    job_id = _sent(w)
    w.complete(job_id)
    with pytest.raises(Conflict):
        w.fail(job_id)


def test_a_late_completed_callback_for_a_dead_job_completes_it_and_settles_the_dead_letter() -> None:
    w = World()
    placed = run(w.place(an_order()))
    w.agent.fail_next(422)
    w.deliver(placed.sync_job_id)
    w.complete(placed.sync_job_id, "ERP-LATE")
    assert w.job(placed.sync_job_id).status is SyncJobStatus.COMPLETED
    assert all(d.resolved for d in w.db.tables["dead_letters"].values())
