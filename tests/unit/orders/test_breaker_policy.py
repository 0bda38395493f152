"""The spec's breaker policy (>= 50 % failures of >= 5 calls, half-open after 60 s, one probe)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from restosync_core.errors import AgentRefused, CircuitOpen
from restosync_core.model.delivery import BreakerKey, BreakerState
from restosync_core.model.ids import VendorId
from restosync_core.policies.breaker import BreakerPolicy, BreakerRecord, admit, record_call
from tests.fakes import FakeClock
from tests.fakes.orders import FakeCircuitBreaker
from tests.unit.orders.world import run

KEY = BreakerKey(VendorId("acme"), "orders")
POLICY = BreakerPolicy()


def _feed(outcomes: list[bool]) -> BreakerRecord:
    clock = FakeClock()
    record = BreakerRecord()
    for ok in outcomes:
        record = record_call(record, clock.advance(seconds=0.1), ok, POLICY)
    return record


def test_four_failures_are_not_enough_volume_to_open() -> None:
    assert _feed([False] * 4).state is BreakerState.CLOSED


def test_it_opens_at_half_failures_once_five_calls_were_seen() -> None:
    assert _feed([True, True, True, False, False]).state is BreakerState.CLOSED
    assert _feed([True, True, True, False, False, False]).state is BreakerState.OPEN
    assert _feed([False] * 5).state is BreakerState.OPEN


def test_calls_older_than_the_window_no_longer_count() -> None:
    clock = FakeClock()
    record = BreakerRecord()
    for _ in range(4):
        record = record_call(record, clock.now(), False, POLICY)
    clock.advance(seconds=POLICY.window_seconds + 1)
    record = record_call(record, clock.now(), False, POLICY)
    assert record.state is BreakerState.CLOSED and record.failures == 1


@given(st.lists(st.booleans(), min_size=1, max_size=40))
def test_a_closed_breaker_opens_exactly_at_the_first_failure_that_crosses_the_threshold(outcomes: list[bool]) -> None:
    record = BreakerRecord()
    clock = FakeClock()
    seen: list[bool] = []
    for ok in outcomes:
        record = record_call(record, clock.now(), ok, POLICY)  # all in one instant: one window
        seen.append(ok)
        total, failures = len(seen), seen.count(False)
        crossed = not ok and total >= POLICY.volume_threshold and failures * 2 >= total
        assert (record.state is BreakerState.OPEN) == crossed
        if crossed:
            break


def test_a_good_call_never_opens_the_breaker() -> None:
    assert _feed([False, False, False, True, True]).state is BreakerState.CLOSED
    assert _feed([False, False, False, True, True, False]).state is BreakerState.OPEN


def test_an_open_breaker_refuses_until_its_reset_timeout_then_lets_one_probe_through() -> None:
    clock = FakeClock()
    opened = _feed([False] * 5)
    assert opened.opened_at is not None
    clock.set(opened.opened_at + timedelta(seconds=59))
    refused = admit(opened, clock.now(), POLICY)
    assert not refused.allowed and refused.retry_at == opened.opened_at + timedelta(seconds=60)
    clock.set(opened.opened_at + timedelta(seconds=60))
    probe = admit(opened, clock.now(), POLICY)
    assert probe.allowed and probe.probe and probe.record.state is BreakerState.HALF_OPEN


def test_a_good_probe_closes_and_a_bad_probe_opens_again() -> None:
    half = BreakerRecord(state=BreakerState.HALF_OPEN, opened_at=FakeClock().now())
    now = FakeClock().advance(seconds=61)
    assert record_call(half, now, True, POLICY) == BreakerRecord()
    reopened = record_call(half, now, False, POLICY)
    assert reopened.state is BreakerState.OPEN and reopened.opened_at == now


def test_in_half_open_a_second_caller_is_refused_while_the_probe_is_out() -> None:
    clock = FakeClock()
    breaker = FakeCircuitBreaker(clock)
    breaker.records[KEY] = BreakerRecord(state=BreakerState.OPEN, opened_at=clock.now())
    clock.advance(seconds=60)
    seen: list[str] = []

    async def probe() -> None:
        with pytest.raises(CircuitOpen):
            await breaker.call(KEY, _ok)
        seen.append("second refused")

    run(breaker.call(KEY, probe))
    assert seen == ["second refused"]
    assert breaker.records[KEY].state is BreakerState.CLOSED


async def _ok() -> None:
    return None


def test_a_permanent_refusal_says_the_agent_is_up_and_does_not_count_as_a_failure() -> None:
    clock = FakeClock()
    breaker = FakeCircuitBreaker(clock)

    async def refuse() -> None:
        raise AgentRefused("bad order", status_code=422)

    for _ in range(10):
        with pytest.raises(AgentRefused):
            run(breaker.call(KEY, refuse))
    (status,) = run(breaker.status())
    assert status.state is BreakerState.CLOSED and status.failures == 0 and status.successes == 10


def test_reset_closes_an_open_breaker() -> None:
    clock = FakeClock()
    breaker = FakeCircuitBreaker(clock)
    breaker.records[KEY] = BreakerRecord(state=BreakerState.OPEN, opened_at=clock.now())
    assert run(breaker.reset(KEY)).state is BreakerState.CLOSED
    run(breaker.call(KEY, _ok))
