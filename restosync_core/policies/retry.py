"""How a sync job moves after each event: pure functions from (job, event) to the job's next state.

REQ-6: ``max_attempts`` deliveries (5), waiting ``delays[n - 1]`` after the n-th
failed one (60, 120, 240, 480 s by default). A refusal by an open breaker spends
no attempt. A delivery the agent accepted but never called back about is sent
again, with the same idempotency key, once ``callback_timeout`` has passed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from restosync_core.model.orders import SyncJob, SyncJobStatus

UNFINISHED = (SyncJobStatus.PENDING, SyncJobStatus.PROCESSING, SyncJobStatus.SENT)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 5
    delays: tuple[float, ...] = (60.0, 120.0, 240.0, 480.0, 960.0)
    """Seconds to wait after the 1st, 2nd ... failed attempt; the last repeats if there are more."""
    claim_seconds: float = 90.0
    """How long a worker's claim lasts; past it another worker may take the job. Must exceed
    the agent call timeout."""
    callback_timeout_seconds: float = 600.0
    """How long an accepted delivery waits for its callback before it is delivered again."""

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or not self.delays or min(self.delays) < 0:
            raise ValueError("a retry policy needs max_attempts >= 1 and delays >= 0")

    def delay_after(self, attempt: int) -> timedelta:
        """The wait after the ``attempt``-th failed attempt (1-based)."""
        index = min(max(attempt, 1), len(self.delays)) - 1
        return timedelta(seconds=self.delays[index])

    def claim_until(self, now: datetime) -> datetime:
        return now + timedelta(seconds=self.claim_seconds)


def _released(job: SyncJob, now: datetime) -> SyncJob:
    return replace(job, claimed_by=None, claimed_until=None, updated_at=now)


def is_exhausted(job: SyncJob, policy: RetryPolicy) -> bool:
    """A freshly claimed job (attempts already counted) that has used up every delivery."""
    return job.attempts > policy.max_attempts


def accepted(job: SyncJob, now: datetime, policy: RetryPolicy) -> SyncJob:
    """The agent answered 2xx: wait for its callback, redeliver if none comes in time."""
    return replace(
        _released(job, now),
        status=SyncJobStatus.SENT,
        sent_at=now,
        next_attempt_at=now + timedelta(seconds=policy.callback_timeout_seconds),
        last_error=None,
    )


def attempt_failed(job: SyncJob, now: datetime, error: str, policy: RetryPolicy, *, permanent: bool) -> SyncJob:
    """A failed attempt: back off and retry, or ``FAILED`` when permanent or out of attempts."""
    released = replace(_released(job, now), last_error=error[:2000])
    if permanent or job.attempts >= policy.max_attempts:
        return dead(released, now)
    return replace(
        released, status=SyncJobStatus.PENDING, next_attempt_at=now + policy.delay_after(job.attempts)
    )


def dead(job: SyncJob, now: datetime) -> SyncJob:
    return replace(_released(job, now), status=SyncJobStatus.FAILED, next_attempt_at=None)


def deferred(job: SyncJob, now: datetime, retry_at: datetime) -> SyncJob:
    """The breaker refused the call: give the attempt back and come back when it half-opens."""
    return replace(
        _released(job, now),
        status=SyncJobStatus.PENDING,
        attempts=max(job.attempts - 1, 0),
        next_attempt_at=max(retry_at, now),
    )


def completed(job: SyncJob, now: datetime, erp_reference: str) -> SyncJob:
    return replace(
        _released(job, now),
        status=SyncJobStatus.COMPLETED,
        erp_reference=erp_reference,
        completed_at=now,
        next_attempt_at=None,
        last_error=None,
    )


def retried(job: SyncJob, now: datetime, payload: dict[str, object]) -> SyncJob:
    """An admin retries a dead job: a fresh set of attempts, same id, so the same idempotency key."""
    return replace(
        _released(job, now),
        status=SyncJobStatus.PENDING,
        payload=payload,
        attempts=0,
        next_attempt_at=now,
        sent_at=None,
        completed_at=None,
    )
