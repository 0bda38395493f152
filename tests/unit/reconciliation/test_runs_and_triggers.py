"""Runs: one active per vendor, skipped when the agent cannot be asked, triggered by admins and the hour."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from restosync_core.errors import Conflict, NotFound
from restosync_core.model.agents import AgentStatus
from restosync_core.model.delivery import BreakerKey
from restosync_core.model.ids import VendorId
from restosync_core.model.reconciliation import ReconciliationEventType, RunScope, RunStatus, RunTrigger
from restosync_core.policies.breaker import BreakerState
from restosync_core.use_cases.reconcile_vendor import run_lock_key
from tests.fakes.agents import AGENTS
from tests.fakes.reconciliation import refused, unavailable
from tests.unit.reconciliation.world import World, run


def set_status(w: World, status: AgentStatus, vendor: str | None = None) -> None:
    agents = w.db.table(AGENTS)
    key = vendor or w.vendor
    agents[key] = replace(agents[key], status=status)


def test_an_offline_agent_is_skipped_without_a_call() -> None:
    w = World()
    w.erp.fill(5)
    w.sync(("WH-1",))
    set_status(w, AgentStatus.OFFLINE)

    result = w.reconcile()

    assert result.status is RunStatus.SKIPPED
    assert "offline" in (result.summary.reason or "")
    assert w.agent.calls == 0
    events = w.db.table("reconciliation_events").values()
    assert [e.event_type for e in events] == [ReconciliationEventType.ERROR]


def test_an_unreachable_agent_skips_the_run_and_counts_on_its_breaker() -> None:
    w = World()
    w.erp.fill(5)
    w.sync(("WH-1",))
    w.agent.failing = unavailable()

    results = [w.reconcile(RunScope.ITEMS) for _ in range(5)]

    assert {r.status for r in results} == {RunStatus.SKIPPED}
    assert "did not answer well" in (results[0].summary.reason or "")
    record = w.breaker.records[BreakerKey(w.vendor, "items")]
    assert record.state is BreakerState.OPEN
    calls = w.agent.calls
    after_open = w.reconcile(RunScope.ITEMS)  # the breaker refuses: the agent is not called
    assert after_open.status is RunStatus.SKIPPED
    assert "breaker is open until" in (after_open.summary.reason or "")
    assert w.agent.calls == calls


def test_stock_calls_use_their_own_breaker() -> None:
    w = World()
    w.erp.fill(5, warehouses=("WH-1",))
    w.sync(("WH-1",))
    w.reconcile(RunScope.STOCK)
    assert BreakerKey(w.vendor, "stock") in w.breaker.records
    assert BreakerKey(w.vendor, "items") not in w.breaker.records


def test_an_agent_that_does_not_offer_reconciliation_fails_the_run() -> None:
    w = World()
    w.erp.fill(3)
    w.sync(("WH-1",))
    w.agent.failing = refused(404)
    result = w.reconcile()
    assert result.status is RunStatus.FAILED
    assert "answered 404" in (result.summary.reason or "")


def test_two_triggers_make_one_run_and_one_wake_up() -> None:
    w = World()
    first = run(w.trigger(w.vendor, RunScope.ALL))
    second = run(w.trigger(w.vendor, RunScope.ALL))
    assert first.created and not second.created
    assert second.run.id == first.run.id
    assert w.queue.woken == [first.run.id]
    assert len(run(w.runs.active())) == 1


def test_a_different_run_while_one_is_active_is_a_conflict_naming_it() -> None:
    w = World()
    first = run(w.trigger(w.vendor, RunScope.ITEMS))
    with pytest.raises(Conflict) as raised:
        run(w.trigger(w.vendor, RunScope.STOCK))
    assert raised.value.detail["runId"] == str(first.run.id)
    with pytest.raises(Conflict):
        run(w.trigger(w.vendor, RunScope.ITEMS, confirm=True))


def test_a_vendor_without_an_agent_cannot_be_reconciled() -> None:
    w = World()
    with pytest.raises(NotFound, match="no registered agent"):
        run(w.trigger(VendorId("nobody"), RunScope.ALL))


def test_an_admin_trigger_is_audited() -> None:
    w = World()
    request = run(w.trigger(w.vendor, RunScope.STOCK, confirm=True))
    entries = w.db.table("audit_log", list)
    assert [(e.action, e.entity_id, e.details["runId"]) for e in entries] == [
        ("reconciliation.trigger", w.vendor, str(request.run.id))
    ]


def test_a_run_is_claimed_once() -> None:
    w = World()
    request = run(w.trigger(w.vendor, RunScope.ALL))
    assert run(w.engine(request.run.id, w.vendor)) is not None
    assert run(w.engine(request.run.id, w.vendor)) is None  # a repeated wake-up does nothing


def test_a_run_of_a_vendor_whose_lock_is_held_waits() -> None:
    w = World()
    request = run(w.trigger(w.vendor, RunScope.ALL))
    w.locks.held.add(run_lock_key(w.vendor))
    assert run(w.engine(request.run.id, w.vendor)) is None
    assert run(w.runs.get(request.run.id)).status is RunStatus.QUEUED  # still there for the next wake-up


def test_a_running_run_whose_process_died_is_failed_and_replaced() -> None:
    w = World()
    request = run(w.trigger(w.vendor, RunScope.ALL))
    run(w.runs.claim(request.run.id, w.clock.now()))  # claimed, then the worker died (no lock held)

    again = run(w.trigger(w.vendor, RunScope.ALL))

    assert again.created and again.run.id != request.run.id
    dead = run(w.runs.get(request.run.id))
    assert dead.status is RunStatus.FAILED
    assert "stopped before it finished" in (dead.summary.reason or "")


def test_the_hourly_check_queues_one_run_per_online_vendor() -> None:
    w = World()
    w.register("beta")
    w.register("gamma")
    set_status(w, AgentStatus.OFFLINE, "gamma")
    set_status(w, AgentStatus.DEGRADED, "beta")

    message = run(w.detect())

    runs = run(w.runs.active())
    assert [(r.vendor_id, r.trigger, r.scope) for r in runs] == [(w.vendor, RunTrigger.SCHEDULE, RunScope.ALL)]
    assert message.startswith("1 run(s) queued")
    again = run(w.detect())  # the run is still queued: asked once, woken again
    assert again.startswith("0 run(s) queued, 1 vendor(s) with a run already active")
    assert len(run(w.runs.active())) == 1


def test_the_hourly_check_leaves_an_admins_run_alone() -> None:
    w = World()
    run(w.trigger(w.vendor, RunScope.STOCK))
    assert run(w.detect()).startswith("0 run(s) queued, 1 vendor(s)")


def test_metrics_count_runs_drift_and_repairs() -> None:
    w = World()
    w.erp.fill(20)
    w.sync(("WH-1",))
    w.reconcile(RunScope.ITEMS)  # no drift
    w.erp.change_item("SKU-000001", price=Decimal("2"))
    w.reconcile(RunScope.ITEMS)  # one repaired
    set_status(w, AgentStatus.OFFLINE)
    w.reconcile(RunScope.ITEMS)  # skipped

    metrics = run(w.runs.metrics(w.vendor, w.clock.now()))

    assert metrics.last_24h.runs == 3 and metrics.last_24h.compared == 2
    assert metrics.last_24h.drift_frequency == 0.5
    assert metrics.last_24h.repaired == 1
    assert metrics.last_run is not None and metrics.last_run.status is RunStatus.SKIPPED
    assert metrics.event_count == 4  # three run events, one repaired row
