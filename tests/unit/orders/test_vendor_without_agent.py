"""Orders and vendors without a registered agent: refused when placed, dead-lettered at once when delivered."""

from __future__ import annotations

import pytest

from restosync_core.errors import Conflict
from restosync_core.model.audit import RequestContext
from restosync_core.model.delivery import DeliveryOutcome
from restosync_core.model.orders import OrderStatus, SyncJobStatus
from tests.unit.orders.world import VENDOR, World, an_order, run


def test_an_order_for_a_vendor_without_an_agent_is_refused_and_writes_nothing() -> None:
    w = World()
    w.deregister_agent()
    with pytest.raises(Conflict, match=f"no agent is registered for vendor {VENDOR}"):
        run(w.place(an_order()))
    assert not w.db.table("orders") and not w.db.table("sync_jobs")
    assert w.queue.wakes == set()


def test_a_job_whose_agent_was_deregistered_after_placement_is_dead_lettered_at_once() -> None:
    w = World()
    placed = run(w.place(an_order()))
    w.deregister_agent()

    assert w.deliver(placed.sync_job_id) is DeliveryOutcome.DEAD_LETTERED
    job = w.job(placed.sync_job_id)
    assert job.status is SyncJobStatus.FAILED and job.attempts == 1 and job.next_attempt_at is None
    assert "no agent is registered for vendor acme" in (job.last_error or "")
    assert w.db.tables["orders"][placed.order.id].status is OrderStatus.FAILED
    (letter,) = w.db.tables["dead_letters"].values()
    assert letter.sync_job_id == placed.sync_job_id
    assert w.agent.received == [], "nothing was called"


def test_a_later_registration_of_that_vendor_receives_nothing_until_an_admin_retries_the_letter() -> None:
    w = World()
    placed = run(w.place(an_order()))
    w.deregister_agent()
    w.deliver(placed.sync_job_id)
    w.register_agent(url="http://newcomer.example")

    w.clock.advance(seconds=3600)
    w.run_workers()
    run(w.sweep())
    w.run_workers()
    assert w.agent.received == [], "the newcomer got nothing on its own"
    assert w.job(placed.sync_job_id).status is SyncJobStatus.FAILED

    (letter,) = w.db.tables["dead_letters"].values()
    run(w.retry_letter(letter.id, RequestContext()))
    w.run_workers()
    assert [r.agent_url for r in w.agent.received] == ["http://newcomer.example"]
