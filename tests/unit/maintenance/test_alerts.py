"""The alert service with a driven clock: every alert logged, each key told once per window, grouped by type."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from restosync_core.model.ids import VendorId
from restosync_core.policies.alerts import MAX_LINES, WHAT_TO_DO, compose
from restosync_core.ports.alerts import Alert, AlertType
from restosync_core.use_cases.send_alerts import SendAlerts
from tests.fakes import FakeClock
from tests.fakes.agents import FakeAlertSink
from tests.fakes.maintenance import FakeAlertNotifier, FakeAlertThrottle
from tests.unit.agents.helpers import World as AgentsWorld

AT = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def offline(vendor: str, at: datetime = AT) -> Alert:
    return Alert(
        AlertType.AGENT_OFFLINE,
        f"The agent of vendor {vendor} is offline.",
        at,
        VendorId(vendor),
        since=at - timedelta(minutes=5),
    )


class Alerts:
    def __init__(self, *, window: int = 3600, throttle_down: bool = False, with_notifier: bool = True) -> None:
        self.clock = FakeClock(AT)
        self.log = FakeAlertSink()
        self.throttle = FakeAlertThrottle(self.clock, failing=throttle_down)
        self.notifier = FakeAlertNotifier()
        self.service = SendAlerts(self.log, self.throttle, self.notifier if with_notifier else None, window)

    def texts(self) -> list[str]:
        return [m.text for m in self.notifier.messages]


def test_one_alert_is_logged_and_told_with_vendor_what_since_when_and_what_to_do() -> None:
    a = Alerts()
    run(a.service.send(offline("acme")))
    assert [x.vendor_id for x in a.log.sent] == ["acme"]
    (text,) = a.texts()
    assert "agent offline (vendor acme)" in text
    assert "The agent of vendor acme is offline." in text
    assert "Since: 2026-01-01 11:55 UTC" in text
    assert WHAT_TO_DO[AlertType.AGENT_OFFLINE] in text


def test_the_same_key_is_told_once_per_window_but_always_logged() -> None:
    a = Alerts(window=600)
    run(a.service.send(offline("acme")))
    a.clock.advance(seconds=599)
    run(a.service.send(offline("acme")))
    run(a.service.send(offline("acme")))
    assert len(a.notifier.messages) == 1 and len(a.log.sent) == 3
    a.clock.advance(seconds=1)
    run(a.service.send(offline("acme")))
    assert len(a.notifier.messages) == 2, "a new window: told again"


def test_other_vendors_and_other_types_are_other_keys() -> None:
    a = Alerts()
    run(a.service.send(offline("acme")))
    run(a.service.send(offline("bistro")))
    run(a.service.send(Alert(AlertType.DLQ_ENTRIES_FOUND, "3 letters", AT, VendorId("acme"))))
    breaker = Alert(AlertType.CIRCUIT_BREAKER_OPEN, "open", AT, VendorId("acme"), subject="orders")
    run(a.service.send(breaker))
    run(a.service.send(Alert(AlertType.CIRCUIT_BREAKER_OPEN, "open", AT, VendorId("acme"), subject="items")))
    assert len(a.notifier.messages) == 5
    assert breaker.key == "circuit_breaker_open:acme:orders"


def test_two_hundred_agents_going_offline_are_one_message() -> None:
    a = Alerts()
    run(a.service.send_many([offline(f"v{i:03}") for i in range(200)]))
    assert len(a.log.sent) == 200
    (message,) = a.notifier.messages
    assert message.type is AlertType.AGENT_OFFLINE and len(message.keys) == 200
    lines = message.text.splitlines()
    assert lines[0] == "[restosync] agent offline: 200 alerts, 200 vendor(s)"
    assert sum(line.startswith("• ") for line in lines) == MAX_LINES
    assert f"… and {200 - MAX_LINES} more" in lines
    # the next health check raises the same 200 again within the window: nobody is told twice
    run(a.service.send_many([offline(f"v{i:03}") for i in range(200)]))
    assert len(a.notifier.messages) == 1


def test_a_group_tells_only_the_keys_not_told_within_the_window() -> None:
    a = Alerts()
    run(a.service.send(offline("v1")))
    run(a.service.send_many([offline("v1"), offline("v2"), offline("v2")]))
    assert [m.keys for m in a.notifier.messages] == [("agent_offline:v1",), ("agent_offline:v2",)]


def test_when_de_duplication_is_down_the_alert_is_told_anyway() -> None:
    a = Alerts(throttle_down=True)
    run(a.service.send(offline("acme")))
    run(a.service.send(offline("acme")))
    assert len(a.notifier.messages) == 2


def test_without_a_channel_alerts_are_only_logged() -> None:
    a = Alerts(with_notifier=False)
    run(a.service.send_many([offline("acme"), offline("bistro")]))
    assert len(a.log.sent) == 2 and a.throttle.told == {} and a.notifier.messages == []


def test_a_failing_log_does_not_keep_the_alert_from_people() -> None:
    a = Alerts()
    a.log.failing = True
    run(a.service.send(offline("acme")))
    assert len(a.notifier.messages) == 1


def test_nothing_raised_is_nothing_told() -> None:
    a = Alerts()
    run(a.service.send_many([]))
    assert a.log.sent == [] and a.notifier.messages == []


ALERTS = st.lists(
    st.builds(
        Alert,
        type=st.sampled_from(list(AlertType)),
        message=st.text(min_size=1, max_size=30),
        at=st.just(AT),
        vendor_id=st.one_of(st.none(), st.sampled_from([VendorId("a"), VendorId("b"), VendorId("c")])),
    ),
    max_size=60,
)


@given(ALERTS)
def test_composing_puts_every_alert_in_exactly_one_message_one_message_per_type(alerts: list[Alert]) -> None:
    messages = compose(alerts)
    assert sorted(k for m in messages for k in m.keys) == sorted(a.key for a in alerts)
    assert [m.type for m in messages] == list(dict.fromkeys(a.type for a in alerts))
    assert all(WHAT_TO_DO[m.type] in m.text for m in messages)


def test_agents_going_offline_in_one_health_check_reach_people_as_one_message() -> None:
    clock = FakeClock(AT)
    notifier = FakeAlertNotifier()
    service = SendAlerts(FakeAlertSink(), FakeAlertThrottle(clock), notifier, 3600)
    world = AgentsWorld(clock=clock, alerts=service)  # type: ignore[arg-type]
    for i, token in enumerate(("a", "b", "c")):
        world.register(f"v{i}", f"token-{token}-" + token * 32)
    clock.advance(seconds=301)
    report = run(world.registry.check_health())
    assert report.alerts_sent == 3
    (message,) = notifier.messages
    assert message.keys == ("agent_offline:v0", "agent_offline:v1", "agent_offline:v2")
    assert "3 alerts, 3 vendor(s)" in message.text
