"""The health policy: a status is a pure function of the silence since the agent was last heard from."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from restosync_core.model.agents import AgentStatus
from restosync_core.policies.agent_health import DEGRADED_AFTER, OFFLINE_AFTER, status_after, status_at

times = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
silences = st.timedeltas(min_value=timedelta(days=-1), max_value=timedelta(days=2))
ORDER = [AgentStatus.ONLINE, AgentStatus.DEGRADED, AgentStatus.OFFLINE]


shifts = st.timedeltas(min_value=timedelta(days=-3000), max_value=timedelta(days=3000))


@given(last=times, silence=silences, shift=shifts)
def test_status_depends_only_on_the_time_since_the_last_heartbeat(last, silence, shift) -> None:
    now = last + silence
    assert status_at(last, now) == status_after(silence) == status_at(last + shift, now + shift)


@given(silence=silences, more=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=1)))
def test_more_silence_never_makes_an_agent_healthier(silence, more) -> None:
    assert ORDER.index(status_after(silence + more)) >= ORDER.index(status_after(silence))


def test_the_thresholds_are_60_and_300_seconds_exclusive() -> None:
    tick = timedelta(microseconds=1)
    assert status_after(timedelta(0)) is AgentStatus.ONLINE
    assert status_after(DEGRADED_AFTER) is AgentStatus.ONLINE
    assert status_after(DEGRADED_AFTER + tick) is AgentStatus.DEGRADED
    assert status_after(OFFLINE_AFTER) is AgentStatus.DEGRADED
    assert status_after(OFFLINE_AFTER + tick) is AgentStatus.OFFLINE
    assert (DEGRADED_AFTER.total_seconds(), OFFLINE_AFTER.total_seconds()) == (60, 300)


def test_a_heartbeat_from_the_future_counts_as_just_now() -> None:
    assert status_after(timedelta(seconds=-30)) is AgentStatus.ONLINE
