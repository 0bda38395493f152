"""A hypothesis state machine over place, deliver, fail, callback, sweep and lose-the-queue.

Whatever the interleaving, each order is completed at most once (its ERP
reference, once set, never changes) and none is lost: every unfinished job stays
findable by the sweeper, and once the world calms down every order ends either
completed or in the dead letters.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from restosync_core.errors import Conflict
from restosync_core.model.delivery import AgentCallback, CallbackResult, CallbackStatus
from restosync_core.model.ids import SyncJobId
from restosync_core.model.orders import OrderStatus, SyncJobStatus
from restosync_core.policies.retry import UNFINISHED, RetryPolicy
from tests.unit.orders.world import VENDOR, World, an_order, run

POLICY = RetryPolicy(max_attempts=3, delays=(10, 20, 40), claim_seconds=30, callback_timeout_seconds=100)


def reference_for(job_id: SyncJobId) -> str:
    """What a well-behaved ERP answers for an idempotency key: the same reference every time."""
    return f"ERP-{job_id}"


class Delivery(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.w = World(policy=POLICY)
        self.placed: list[SyncJobId] = []
        self.completions: dict[SyncJobId, int] = {}
        self.references: dict[SyncJobId, str] = {}
        self.called_back = 0

    @rule()
    def place(self) -> None:
        placed = run(self.w.place(an_order(f"N-{len(self.placed)}")))
        self.placed.append(placed.sync_job_id)

    @rule()
    def workers_run_what_is_due(self) -> None:
        self.w.run_workers()

    @precondition(lambda self: self.placed)
    @rule(data=st.data())
    def a_duplicate_wake_up_arrives(self, data: st.DataObject) -> None:
        self.w.deliver(data.draw(st.sampled_from(self.placed)), worker="dup")

    @precondition(lambda self: self.placed)
    @rule(data=st.data())
    def a_worker_dies_mid_call(self, data: st.DataObject) -> None:
        job_id = data.draw(st.sampled_from(self.placed))

        async def claim_and_die() -> None:
            async with self.w.uow() as uow:
                now = self.w.clock.now()
                await uow.sync_jobs.claim(job_id, "dying", now, POLICY.claim_until(now))

        run(claim_and_die())

    @rule(status=st.sampled_from([503, 500, 408, None]))
    def the_agent_fails_the_next_call(self, status: int | None) -> None:
        self.w.agent.fail_next(status)

    @rule(down=st.booleans())
    def the_agent_goes_down_or_comes_back(self, down: bool) -> None:
        self.w.agent.down = down

    @precondition(lambda self: self.w.agent.received[self.called_back :])
    @rule(completed=st.booleans())
    def the_agent_calls_back(self, completed: bool) -> None:
        delivery = self.w.agent.received[self.called_back]
        self.called_back += 1
        self._callback(delivery.job_id, completed)

    @rule()
    def the_sweeper_runs(self) -> None:
        run(self.w.sweep())

    @rule()
    def redis_is_flushed(self) -> None:
        self.w.queue.lose()

    @rule(seconds=st.sampled_from([1, 10, 31, 100, 1000]))
    def time_passes(self, seconds: int) -> None:
        self.w.clock.advance(seconds=seconds)

    def _callback(self, job_id: SyncJobId, completed: bool) -> None:
        status = CallbackStatus.COMPLETED if completed else CallbackStatus.FAILED
        reference = reference_for(job_id) if completed else None
        try:
            result, _ = run(self.w.callback(VENDOR, AgentCallback(job_id, status, reference, "ERP said no")))
        except Conflict:
            assert not completed, "a well-behaved agent's completion never conflicts"
            return
        if completed and result is CallbackResult.APPLIED:
            self.completions[job_id] = self.completions.get(job_id, 0) + 1

    @invariant()
    def each_order_is_completed_at_most_once_and_its_reference_never_changes(self) -> None:
        assert all(n <= 1 for n in self.completions.values())
        for order in self.w.db.tables.get("orders", {}).values():
            if order.erp_reference is not None:
                previous = self.references.setdefault(order.id, order.erp_reference)
                assert previous == order.erp_reference

    @invariant()
    def every_unfinished_job_can_be_found_by_the_sweeper(self) -> None:
        for job in self.w.db.tables.get("sync_jobs", {}).values():
            if job.status in UNFINISHED:
                assert job.next_attempt_at is not None

    def teardown(self) -> None:
        """Calm the world: the agent healthy and answering, time moving on; nothing may be left over."""
        w = self.w
        w.agent.down = False
        w.agent.failures.clear()
        for _ in range(3 * POLICY.max_attempts + 5):
            w.clock.advance(seconds=1000)
            run(w.sweep())
            w.run_workers()
            while w.agent.received[self.called_back :]:
                delivery = w.agent.received[self.called_back]
                self.called_back += 1
                self._callback(delivery.job_id, completed=True)
        self.each_order_is_completed_at_most_once_and_its_reference_never_changes()
        letters = w.db.tables.get("dead_letters", {}).values()
        for job_id in self.placed:
            job = w.job(job_id)
            order = w.db.tables["orders"][job.order_id]
            if job.status is SyncJobStatus.COMPLETED:
                assert order.status is OrderStatus.SYNCED and order.erp_reference == reference_for(job_id)
            else:
                assert job.status is SyncJobStatus.FAILED, f"job {job_id} was lost as {job.status}"
                assert order.status is OrderStatus.FAILED
                assert any(d.sync_job_id == job_id and not d.resolved for d in letters)


TestDelivery = Delivery.TestCase
TestDelivery.settings = settings(
    max_examples=150, stateful_step_count=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
