"""The DLQ alert check with a driven clock: how many unresolved letters per vendor, and the oldest."""

from __future__ import annotations

from restosync_core.model.audit import RequestContext
from restosync_core.model.delivery import DeliveryOutcome
from restosync_core.ports.alerts import AlertType
from tests.fakes.agents import FakeAlertSink
from tests.unit.orders.world import World, an_order, run


def _dead(w: World, number: str, vendor: str = "acme") -> None:
    placed = run(w.place(an_order(number, vendor)))
    w.agent.fail_next(422)
    assert w.deliver(placed.sync_job_id) is DeliveryOutcome.DEAD_LETTERED


def test_unresolved_dead_letters_are_named_per_vendor_with_their_count_and_the_oldest() -> None:
    w = World()
    w.register_agent("bistro", "http://agent.bistro.test")
    oldest = w.clock.now()
    _dead(w, "A-1")
    w.clock.advance(hours=3)
    _dead(w, "A-2")
    _dead(w, "B-1", "bistro")
    resolved_one = next(d for d in w.db.tables["dead_letters"].values() if d.vendor_id == "bistro")
    _dead(w, "B-2", "bistro")
    run(w.resolve_letter(resolved_one.id, RequestContext()))
    w.clock.advance(minutes=15)
    alerts = w.services("w1").alerts
    assert isinstance(alerts, FakeAlertSink)
    assert run(w.services("w1").alert_dead_letters()) == 3
    acme, bistro = alerts.sent
    assert (acme.type, acme.vendor_id, acme.since) == (AlertType.DLQ_ENTRIES_FOUND, "acme", oldest)
    assert acme.message == "Vendor acme has 2 unresolved dead letter(s); the oldest is from 2026-01-01 12:00 UTC."
    assert acme.details == {"count": 2, "oldestAt": oldest.isoformat()}
    assert bistro.vendor_id == "bistro" and bistro.details["count"] == 1


def test_no_unresolved_dead_letter_raises_nothing() -> None:
    w = World()
    _dead(w, "A-1")
    (letter,) = w.db.tables["dead_letters"].values()
    run(w.resolve_letter(letter.id, RequestContext()))
    assert run(w.services("w1").alert_dead_letters()) == 0
    alerts = w.services("w1").alerts
    assert isinstance(alerts, FakeAlertSink) and alerts.sent == []


def test_an_alert_channel_down_does_not_fail_the_check() -> None:
    w = World()
    _dead(w, "A-1")
    alerts = w.services("w1").alerts
    assert isinstance(alerts, FakeAlertSink)
    alerts.failing = True
    assert run(w.services("w1").alert_dead_letters()) == 1
