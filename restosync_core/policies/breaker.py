"""The spec's circuit-breaker policy (REQ-7, opossum's rules) as pure functions of a breaker record.

Closed: calls go through and are counted in a rolling window of ``window_seconds``
(in ``buckets`` slices). When a call fails and at least ``volume_threshold`` calls
are in the window, ``error_threshold_percent`` of them failed, it opens. Open: calls are
refused until ``reset_timeout_seconds`` have passed, then it is half-open. Half-open:
one probe call goes through (the caller claims it); a good probe closes the
breaker, a failed one opens it again.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from restosync_core.errors import TransientError
from restosync_core.model.delivery import BreakerKey, BreakerState, BreakerStatus

Bucket = tuple[float, int, int]
"""(slice start as epoch seconds, successes, failures)."""


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    error_threshold_percent: float = 50.0
    volume_threshold: int = 5
    reset_timeout_seconds: float = 60.0
    window_seconds: float = 10.0
    buckets: int = 10
    probe_retry_seconds: float = 5.0
    """When another caller holds the half-open probe, come back after this long."""

    @property
    def slice_seconds(self) -> float:
        return self.window_seconds / self.buckets


@dataclass(frozen=True, slots=True)
class BreakerRecord:
    state: BreakerState = BreakerState.CLOSED
    opened_at: datetime | None = None
    window: tuple[Bucket, ...] = ()

    @property
    def successes(self) -> int:
        return sum(b[1] for b in self.window)

    @property
    def failures(self) -> int:
        return sum(b[2] for b in self.window)


@dataclass(frozen=True, slots=True)
class Admission:
    allowed: bool
    probe: bool
    """The call is the half-open probe: only one caller may make it."""
    retry_at: datetime | None
    record: BreakerRecord


def half_open_at(record: BreakerRecord, policy: BreakerPolicy) -> datetime | None:
    if record.opened_at is None or record.state is BreakerState.CLOSED:
        return None
    return record.opened_at + timedelta(seconds=policy.reset_timeout_seconds)


def rolled(record: BreakerRecord, now: datetime, policy: BreakerPolicy) -> BreakerRecord:
    """Drop the window's slices that are older than the window."""
    oldest = now.timestamp() - policy.window_seconds
    kept = tuple(b for b in record.window if b[0] > oldest - policy.slice_seconds)
    return record if kept == record.window else replace(record, window=kept)


def admit(record: BreakerRecord, now: datetime, policy: BreakerPolicy) -> Admission:
    """May a call go through now? (An open breaker whose timeout passed becomes half-open.)"""
    if record.state is BreakerState.CLOSED:
        return Admission(True, False, None, record)
    reopen = half_open_at(record, policy)
    if record.state is BreakerState.OPEN:
        if reopen is not None and now < reopen:
            return Admission(False, False, reopen, record)
        record = replace(record, state=BreakerState.HALF_OPEN)
    return Admission(True, True, now + timedelta(seconds=policy.probe_retry_seconds), record)


def record_call(record: BreakerRecord, now: datetime, ok: bool, policy: BreakerPolicy) -> BreakerRecord:
    """The breaker after a call's outcome."""
    if record.state is BreakerState.HALF_OPEN:
        if ok:
            return BreakerRecord()
        return BreakerRecord(state=BreakerState.OPEN, opened_at=now)
    if record.state is BreakerState.OPEN:
        return record  # a call that started before the breaker opened changes nothing
    record = rolled(record, now, policy)
    start = now.timestamp() - now.timestamp() % policy.slice_seconds
    window = list(record.window)
    if window and window[-1][0] == start:
        _, s, f = window[-1]
        window[-1] = (start, s + ok, f + (not ok))
    else:
        window.append((start, int(ok), int(not ok)))
    record = replace(record, window=tuple(window))
    if not ok and trips(record, policy):
        return BreakerRecord(state=BreakerState.OPEN, opened_at=now)
    return record


def trips(record: BreakerRecord, policy: BreakerPolicy) -> bool:
    """Does this (closed) window open the breaker? Checked after a failure, as opossum does: a good
    call never opens it."""
    total = record.successes + record.failures
    return total >= policy.volume_threshold and record.failures * 100 >= policy.error_threshold_percent * total


def status_of(key: BreakerKey, record: BreakerRecord, now: datetime, policy: BreakerPolicy) -> BreakerStatus:
    """What ``getStatus`` shows: an open breaker past its timeout reads as half-open."""
    record = rolled(record, now, policy)
    state = admit(record, now, policy).record.state if record.state is BreakerState.OPEN else record.state
    return BreakerStatus(
        key=key,
        state=state,
        successes=record.successes,
        failures=record.failures,
        opened_at=record.opened_at,
        half_open_at=half_open_at(record, policy),
    )


def counts_as_failure(exc: BaseException) -> bool:
    """Only transient trouble trips a breaker: a refusal (``AgentRefused``, a 4xx) says the agent is up,
    and any other error is the caller's own."""
    return isinstance(exc, TransientError)
