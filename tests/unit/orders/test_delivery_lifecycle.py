"""Order delivery use cases against fakes, with a driven clock: from placing an order to its ERP reference."""

from __future__ import annotations

from datetime import timedelta

import pytest

from restosync_core.errors import Conflict, ValidationFailed
from restosync_core.model.audit import RequestContext
from restosync_core.model.delivery import DeliveryOutcome
from restosync_core.model.orders import OrderStatus, SyncJobStatus
from restosync_core.model.pagination import PageRequest
from tests.unit.orders.world import AGENT_URL, VENDOR, World, an_order, run


def test_placing_an_order_writes_order_lines_and_a_pending_job_then_wakes_a_worker() -> None:
    w = World()
    placed = run(w.place(an_order()))
    job = w.job(placed.sync_job_id)
    assert job.status is SyncJobStatus.PENDING and job.attempts == 0 and job.order_id == placed.order.id
    assert job.payload["jobId"] == str(job.id)
    assert job.payload["lines"] == [{"sku": "SKU-1", "quantity": "2", "unitPrice": "18.50"}]
    assert w.db.tables["orders"][placed.order.id].status is OrderStatus.PENDING
    assert w.queue.wakes == {(job.id, w.clock.now())}


def test_a_second_order_with_the_same_number_is_a_conflict_and_writes_nothing() -> None:
    w = World()
    run(w.place(an_order("A-1")))
    with pytest.raises(Conflict):
        run(w.place(an_order("A-1")))
    assert len(w.db.tables["orders"]) == 1 and len(w.db.tables["sync_jobs"]) == 1


def test_an_order_without_lines_is_refused() -> None:
    w = World()
    bad = an_order()
    with pytest.raises(ValidationFailed):
        run(w.place(type(bad)(bad.vendor_id, bad.order_number, ())))


def test_an_order_placed_while_the_queue_is_down_is_kept_and_woken_by_the_sweeper() -> None:
    w = World()
    w.queue.down = True
    placed = run(w.place(an_order()))
    assert w.queue.wakes == set()
    w.queue.down = False
    assert run(w.sweep()) == 1
    assert w.run_workers() == [DeliveryOutcome.SENT]
    assert [d.job_id for d in w.agent.received] == [placed.sync_job_id]


def test_the_whole_lifecycle_ends_with_the_erp_reference_on_the_order() -> None:
    w = World()
    placed = run(w.place(an_order()))
    assert w.run_workers() == [DeliveryOutcome.SENT]
    (delivery,) = w.agent.received
    job = w.job(placed.sync_job_id)
    assert delivery.agent_url == AGENT_URL
    assert delivery.job_id == job.id and delivery.correlation_id == job.correlation_id
    assert job.status is SyncJobStatus.SENT and job.attempts == 1
    w.clock.advance(seconds=2)
    w.complete(job.id, "ERP-42")
    job = w.job(job.id)
    order = w.db.tables["orders"][placed.order.id]
    assert job.status is SyncJobStatus.COMPLETED and job.erp_reference == "ERP-42"
    assert order.status is OrderStatus.SYNCED and order.erp_reference == "ERP-42"


def test_a_duplicate_wake_up_does_nothing() -> None:
    w = World()
    placed = run(w.place(an_order()))
    assert w.deliver(placed.sync_job_id) is DeliveryOutcome.SENT
    assert w.deliver(placed.sync_job_id, worker="w2") is DeliveryOutcome.NOT_CLAIMED
    assert len(w.agent.received) == 1


def test_each_failed_attempt_waits_its_delay_and_the_fifth_goes_to_the_dead_letters() -> None:
    w = World()
    placed = run(w.place(an_order()))
    job_id = placed.sync_job_id
    for attempt, delay in enumerate([60, 120, 240, 480], start=1):
        w.agent.fail_next(503)
        started = w.clock.now()
        assert w.deliver(job_id) is DeliveryOutcome.RETRY_SCHEDULED
        job = w.job(job_id)
        assert job.attempts == attempt and job.status is SyncJobStatus.PENDING
        assert job.next_attempt_at == started + timedelta(seconds=delay)
        w.clock.advance(seconds=delay - 1)
        assert w.deliver(job_id) is DeliveryOutcome.NOT_CLAIMED, "not due yet"
        w.clock.advance(seconds=1)
    w.agent.fail_next(503)
    assert w.deliver(job_id) is DeliveryOutcome.DEAD_LETTERED
    job = w.job(job_id)
    assert job.status is SyncJobStatus.FAILED and job.attempts == 5
    (letter,) = w.db.tables["dead_letters"].values()
    assert letter.payload == job.payload and "503" in (letter.last_error or "") and letter.attempts == 5
    assert w.db.tables["orders"][placed.order.id].status is OrderStatus.FAILED


def test_timeouts_408_and_429_are_retried_but_another_4xx_is_refused_for_good() -> None:
    for status in (None, 408, 429, 500):
        w = World()
        placed = run(w.place(an_order()))
        w.agent.fail_next(status)
        assert w.deliver(placed.sync_job_id) is DeliveryOutcome.RETRY_SCHEDULED, status
    w = World()
    placed = run(w.place(an_order()))
    w.agent.fail_next(422)
    assert w.deliver(placed.sync_job_id) is DeliveryOutcome.DEAD_LETTERED
    assert w.job(placed.sync_job_id).attempts == 1
    assert len(w.db.tables["dead_letters"]) == 1


def test_an_open_breaker_defers_the_job_to_its_half_open_time_without_spending_an_attempt() -> None:
    w = World()
    jobs = [run(w.place(an_order(f"A-{i}"))).sync_job_id for i in range(6)]
    w.agent.down = True
    for job_id in jobs[:5]:
        assert w.deliver(job_id) is DeliveryOutcome.RETRY_SCHEDULED
    opened_at = w.clock.now()
    w.clock.advance(seconds=1)
    assert w.deliver(jobs[5]) is DeliveryOutcome.DEFERRED
    job = w.job(jobs[5])
    assert job.attempts == 0 and job.status is SyncJobStatus.PENDING
    assert job.next_attempt_at == opened_at + timedelta(seconds=60)
    w.agent.down = False
    w.clock.set(job.next_attempt_at)
    assert w.deliver(jobs[5]) is DeliveryOutcome.SENT, "the half-open probe goes through"
    assert w.breaker.transitions[-1][2] == "closed"


def test_a_job_whose_callback_never_comes_is_delivered_again_with_the_same_idempotency_key() -> None:
    w = World()
    placed = run(w.place(an_order()))
    w.run_workers()
    w.clock.advance(seconds=w.policy.callback_timeout_seconds - 1)
    run(w.sweep())
    assert w.run_workers() == [], "the callback is not overdue yet"
    w.queue.lose()
    w.clock.advance(seconds=1)
    assert run(w.sweep()) == 1
    assert w.run_workers() == [DeliveryOutcome.SENT]
    first, second = w.agent.received
    assert first.job_id == second.job_id == placed.sync_job_id
    assert w.job(placed.sync_job_id).attempts == 2


def test_a_delivery_that_is_never_called_back_ends_in_the_dead_letters() -> None:
    w = World()
    placed = run(w.place(an_order()))
    for _ in range(w.policy.max_attempts + 1):
        run(w.sweep())
        w.run_workers()
        w.clock.advance(seconds=w.policy.callback_timeout_seconds)
    job = w.job(placed.sync_job_id)
    assert job.status is SyncJobStatus.FAILED
    assert len(w.agent.received) == w.policy.max_attempts
    assert "no callback" in (job.last_error or "")


def test_a_worker_killed_mid_call_leaves_a_claim_that_another_worker_takes_once_it_expires() -> None:
    w = World()
    placed = run(w.place(an_order()))
    claimed = run(_claim_only(w, placed.sync_job_id))
    assert claimed is not None
    assert w.deliver(placed.sync_job_id, worker="w2") is DeliveryOutcome.NOT_CLAIMED
    w.clock.advance(seconds=w.policy.claim_seconds)
    w.queue.lose()
    run(w.sweep())
    assert w.run_workers() == [DeliveryOutcome.SENT]
    assert w.job(placed.sync_job_id).attempts == 2


async def _claim_only(w: World, job_id):  # type: ignore[no-untyped-def]
    async with w.uow() as uow:
        now = w.clock.now()
        return await uow.sync_jobs.claim(job_id, "dying", now, w.policy.claim_until(now))


def test_a_callback_that_arrives_before_the_agent_answers_is_not_overwritten_by_the_worker() -> None:
    w = World()
    placed = run(w.place(an_order()))
    job_id = placed.sync_job_id
    original = w.agent.create_order

    async def agent_that_calls_back_first(agent_url, *, job_id, correlation_id, payload):  # type: ignore[no-untyped-def]
        await w.callback(VENDOR, __import__("restosync_core.model.delivery", fromlist=["x"]).AgentCallback(
            job_id, __import__("restosync_core.model.delivery", fromlist=["x"]).CallbackStatus.COMPLETED, "ERP-7"))
        await original(agent_url, job_id=job_id, correlation_id=correlation_id, payload=payload)

    w.agent.create_order = agent_that_calls_back_first  # type: ignore[method-assign]
    assert w.deliver(job_id) is DeliveryOutcome.OVERTAKEN
    assert w.job(job_id).status is SyncJobStatus.COMPLETED and w.job(job_id).erp_reference == "ERP-7"


def test_retrying_a_dead_letter_delivers_the_same_job_afresh_and_is_audited() -> None:
    w = World()
    placed = run(w.place(an_order()))
    w.agent.fail_next(422)
    w.deliver(placed.sync_job_id)
    (letter,) = w.db.tables["dead_letters"].values()
    w.clock.advance(seconds=30)
    context = RequestContext(request_id="req-1", client_address="10.0.0.9")
    retried = run(w.retry_letter(letter.id, context))
    assert retried.retry_count == 1 and not retried.resolved
    job = w.job(placed.sync_job_id)
    assert job.status is SyncJobStatus.PENDING and job.attempts == 0 and job.payload == letter.payload
    assert w.db.tables["orders"][placed.order.id].status is OrderStatus.PENDING
    (entry,) = w.db.tables["audit_log"]
    assert (entry.action, entry.entity_id, entry.context) == ("dlq.retry", str(letter.id), context)
    assert w.run_workers().count(DeliveryOutcome.SENT) == 1
    assert len(w.agent.received) == 1
    assert w.agent.received[-1].job_id == placed.sync_job_id, "same idempotency key"
    w.complete(placed.sync_job_id, "ERP-9")
    assert w.db.tables["dead_letters"][letter.id].resolved, "a completed job settles its dead letter"
    with pytest.raises(Conflict):
        run(w.retry_letter(letter.id, context))


def test_a_dead_letter_cannot_be_retried_while_its_job_is_being_delivered() -> None:
    w = World()
    placed = run(w.place(an_order()))
    w.agent.fail_next(400)
    w.deliver(placed.sync_job_id)
    (letter,) = w.db.tables["dead_letters"].values()
    run(w.retry_letter(letter.id, RequestContext()))
    with pytest.raises(Conflict):
        run(w.retry_letter(letter.id, RequestContext()))
    assert w.db.tables["dead_letters"][letter.id].retry_count == 1


def test_resolving_a_dead_letter_takes_it_off_the_unresolved_list_and_is_audited() -> None:
    w = World()
    placed = run(w.place(an_order()))
    w.agent.fail_next(400)
    w.deliver(placed.sync_job_id)
    (letter,) = w.db.tables["dead_letters"].values()
    assert run(w.list_dead_letters(PageRequest())).total == 1
    resolved = run(w.resolve_letter(letter.id, RequestContext(request_id="r2", client_address="::1")))
    assert resolved.resolved and resolved.resolved_at == w.clock.now()
    assert run(w.list_dead_letters(PageRequest())).total == 0
    run(w.resolve_letter(letter.id, RequestContext()))
    assert [e.details["alreadyResolved"] for e in w.db.tables["audit_log"]] == [False, True]
