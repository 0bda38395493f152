"""The health check: transitions recorded, one agent_offline alert per transition into offline."""

from __future__ import annotations

from restosync_core.model.agents import AgentStatus
from restosync_core.model.audit import RequestContext
from restosync_core.model.ids import VendorId
from restosync_core.policies.agent_health import plan_transitions
from restosync_core.ports.alerts import AlertType
from tests.fakes.agents import FakeAlertSink
from tests.unit.agents.helpers import TOKEN_A, World, run

V1 = VendorId("v1")


def test_silence_moves_an_agent_to_degraded_then_offline_with_one_alert_and_a_heartbeat_brings_it_back() -> None:
    world = World()
    world.register("v1", TOKEN_A)
    assert run(world.registry.check_health()).transitions == []

    world.clock.advance(seconds=61)
    report = run(world.registry.check_health())
    assert [(t.from_status, t.to_status) for t in report.transitions] == [("online", "degraded")]
    assert world.rows["v1"].status is AgentStatus.DEGRADED and world.alerts.sent == []

    world.clock.advance(seconds=240)
    report = run(world.registry.check_health())
    assert [(t.from_status, t.to_status) for t in report.transitions] == [("degraded", "offline")]
    assert report.alerts_sent == 1
    [alert] = world.alerts.sent
    assert alert.type is AlertType.AGENT_OFFLINE and alert.vendor_id == "v1"
    assert world.rows["v1"].status_changed_at == world.clock.now()

    world.clock.advance(seconds=600)
    assert run(world.registry.check_health()).transitions == []
    assert len(world.alerts.sent) == 1  # still offline: no second alert

    run(world.registry.heartbeat(V1))
    assert world.rows["v1"].status is AgentStatus.ONLINE
    assert world.audit[-1].details["from"] == "offline"
    changes = world.audit[1:]  # after agent.registered; system events, no request behind them
    assert [(e.details["from"], e.details["to"]) for e in changes] == [
        ("online", "degraded"), ("degraded", "offline"), ("offline", "online")
    ]
    assert {(e.action, e.entity_type, e.entity_id, e.context) for e in changes} == {
        ("agent.status_changed", "agent", "v1", RequestContext())
    }

    world.clock.advance(seconds=400)
    report = run(world.registry.check_health())
    assert [(t.from_status, t.to_status) for t in report.transitions] == [("online", "offline")]
    assert len(world.alerts.sent) == 2  # a new transition into offline, a new alert


def test_a_failing_alert_channel_does_not_undo_the_recorded_transition() -> None:
    world = World(alerts=FakeAlertSink(failing=True))
    world.register("v1", TOKEN_A)
    world.clock.advance(seconds=301)
    report = run(world.registry.check_health())
    assert report.alerts_sent == 0 and len(report.transitions) == 1
    assert world.rows["v1"].status is AgentStatus.OFFLINE


def test_a_heartbeat_arriving_after_the_check_planned_a_transition_wins() -> None:
    world = World()
    world.register("v1", TOKEN_A)
    world.clock.advance(seconds=301)
    planned = plan_transitions(world.rows.values(), world.clock.now())
    run(world.registry.heartbeat(V1))

    async def apply() -> list:
        async with world.registry.check_health._uow() as uow:
            return await uow.agents.apply_transitions(planned)

    assert run(apply()) == []
    assert world.rows["v1"].status is AgentStatus.ONLINE
