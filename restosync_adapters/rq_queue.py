"""RqJobQueue, RqReconciliationQueue: wake workers through RQ (JSON jobs, deterministic ids, explicit TTLs).

RQ holds no delivery state that matters: a wake-up names a sync job and the time
it is due, and the worker's claim in PostgreSQL decides what happens. The RQ job
id is built from both, so the sweeper and a worker scheduling the same wake-up
cannot queue it twice (``unique=True``), and a later wake-up of the same job
gets a new id. A reconciliation run is woken the same way on its own queue, one
RQ id per run (the run's claim, queued -> running, makes a repeat do nothing).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from rq import Queue
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job
from rq.serializers import JSONSerializer
from rq.utils import utcparse

from restosync_adapters.logging import Outage
from restosync_adapters.queues import ORDER_SYNC, RECONCILIATION, rq_queue_name
from restosync_core.errors import DependencyUnavailable
from restosync_core.model.ids import SyncJobId
from restosync_core.model.reconciliation import RunId

DELIVER_ORDER_FUNC = "restosync_worker.jobs.deliver_order"
"""The job function, by name: adapters never import the worker shell."""
RECONCILE_FUNC = "restosync_worker.jobs.reconcile"
RESULT_TTL_SECONDS = 60
"""A finished wake-up is kept a minute (RQ's normal success path: its hash and result expire).
Deleting it at once (``result_ttl=0``) costs RQ 3 about three more Redis round trips per job (it
reads the job's status and its executions back to delete them), measured at ~15 % of the workers'
throughput. A finished wake-up never blocks the same wake-up again: see ``wake_delivery_now``."""
FAILURE_TTL_SECONDS = 3600
"""A wake-up that crashed (a bug: outages end it normally) stays in RQ's failed registry an hour.
Its id, and so that same wake-up, is taken until then; the job itself is safe in PostgreSQL."""
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
log = logging.getLogger(__name__)


class JsonJob(Job):
    """An RQ job serialised as JSON (never pickle), whoever creates or fetches it."""

    def __init__(self, id: str | None = None, connection: Any = None, serializer: Any = None) -> None:
        super().__init__(id, connection=connection, serializer=serializer or JSONSerializer)

    @classmethod
    def create(cls, *args: Any, **kwargs: Any) -> Job:
        kwargs["serializer"] = kwargs.get("serializer") or JSONSerializer
        return super().create(*args, **kwargs)


def make_queue(connection: redis.Redis, prefix: str, logical: str) -> Queue:
    return Queue(
        rq_queue_name(prefix, logical), connection=connection, serializer=JSONSerializer, job_class=JsonJob
    )


def wake_id(prefix: str, job_id: SyncJobId, due_at: datetime) -> str:
    """``<prefix>-deliver-<job id>-<due ms>``: one RQ job per (sync job, due time)."""
    return f"{_UNSAFE.sub('_', prefix)}-deliver-{job_id}-{int(due_at.timestamp() * 1000)}"


def run_wake_id(prefix: str, run_id: RunId) -> str:
    """``<prefix>-reconcile-<run id>``: one RQ job per reconciliation run."""
    return f"{_UNSAFE.sub('_', prefix)}-reconcile-{run_id}"


def _delete_if_spent(connection: redis.Redis, rq_id: str, stale_after_seconds: float | None) -> bool:
    """Delete the RQ job ``rq_id`` if it can wake no one any more; True if it was deleted.

    Spent: it finished (RQ keeps it a while), or it started more than ``stale_after_seconds`` ago
    while its sync job is due again (the sweeper asks only for due jobs). A live worker claims its
    job the moment it starts and is done within the claim, which moves the job's due time on: a
    wake-up still "started" past that belongs to a worker that died before claiming (SIGKILL, OOM),
    and RQ would keep it "started" for as long as its job timeout and registry cleanup take.
    """
    status, raw_started = connection.hmget(JsonJob.key_for(rq_id), ["status", "started_at"])
    started = raw_started.decode() if isinstance(raw_started, bytes) else raw_started or ""
    stale = (
        status == b"started" and stale_after_seconds is not None and bool(started)
        and utcparse(started) + timedelta(seconds=stale_after_seconds) < datetime.now(UTC)
    )
    if status != b"finished" and not stale:
        return False
    if stale:
        log.warning("wake-up %s started %s and never claimed its job (its worker died?); replacing it",
                    rq_id, started)
    with contextlib.suppress(NoSuchJobError):  # unless it expired meanwhile
        JsonJob.fetch(rq_id, connection=connection).delete()
    return True


class RqJobQueue:
    """``connection``: the process's blocking Redis client (``Services.sync_redis``); its owner closes it."""

    def __init__(
        self, connection: redis.Redis, prefix: str, *, job_timeout_seconds: int,
        stale_after_seconds: float | None = None,
    ) -> None:
        """``stale_after_seconds``: ``ORDER_CLAIM_SECONDS``; a wake-up started longer ago whose job is due
        again is replaced (``None``: a started wake-up always blocks the same one)."""
        self.prefix = prefix
        self.connection = connection
        self.queue = make_queue(self.connection, prefix, ORDER_SYNC)
        self.job_timeout = job_timeout_seconds
        self.stale_after_seconds = stale_after_seconds
        self.outage = Outage(log, "The job queue (Redis)")

    async def wake_delivery(self, job_id: SyncJobId, due_at: datetime) -> bool:
        return await asyncio.to_thread(self.wake_delivery_now, job_id, due_at)

    def wake_delivery_now(self, job_id: SyncJobId, due_at: datetime) -> bool:
        """The blocking call (for callers that are already off the event loop).

        ``False`` if this wake-up is already queued, scheduled or running (or crashed within
        the last hour). One that has already finished is kept by RQ a while for the record; it
        is replaced, so it never keeps the job from being woken again at the same due time (after
        a wake-up that ended on an outage, say). So is one that started longer than a claim lasts
        ago (``stale_after_seconds``): its worker died before claiming the job (``_delete_if_spent``).
        """
        rq_id = wake_id(self.prefix, job_id, due_at)
        try:
            woken = self._enqueue(rq_id, job_id, due_at) or self._replace_spent(rq_id, job_id, due_at)
        except redis.RedisError as exc:
            # One line per outage, not one per order: the jobs are safe in PostgreSQL.
            self.outage.failed(exc, "sync jobs stay pending in PostgreSQL; the sweeper wakes them once it is back")
            raise DependencyUnavailable("the job queue (Redis) is unavailable") from exc
        self.outage.recovered()
        return woken

    def _replace_spent(self, rq_id: str, job_id: SyncJobId, due_at: datetime) -> bool:
        # it ran, or its worker died: make room for this one
        spent = _delete_if_spent(self.connection, rq_id, self.stale_after_seconds)
        return spent and self._enqueue(rq_id, job_id, due_at)

    def _enqueue(self, rq_id: str, job_id: SyncJobId, due_at: datetime) -> bool:
        """Queue (or schedule) the wake-up; ``False`` if one with its id exists."""
        options: dict[str, Any] = {
            "job_id": rq_id,
            "unique": True,
            "result_ttl": RESULT_TTL_SECONDS,
            "failure_ttl": FAILURE_TTL_SECONDS,
            "job_timeout": self.job_timeout,
            "description": f"deliver sync job {job_id}",
        }
        try:
            if due_at <= datetime.now(UTC) + timedelta(milliseconds=50):
                self.queue.enqueue(DELIVER_ORDER_FUNC, str(job_id), **options)
            else:
                # RQ keeps scheduled times in whole seconds: round up, or the job would wake before it
                # is due, find nothing to claim, and wait for the sweeper.
                at = datetime.fromtimestamp(math.ceil(due_at.timestamp()), UTC)
                self.queue.enqueue_at(at, DELIVER_ORDER_FUNC, str(job_id), **options)
        except DuplicateJobError:
            return False
        return True


class RqReconciliationQueue:
    """Wakes reconciliation workers (the ``reconciliation`` queue): ``ReconciliationQueue``.

    The RQ job is ``restosync_worker.jobs.reconcile(<run id>)`` with id ``run_wake_id``: waking a run
    that is already queued, scheduled or running (or crashed within the last hour) queues nothing; one
    that has finished is replaced. ``job_timeout_seconds``: ``RECONCILIATION_JOB_TIMEOUT_SECONDS``.
    ``connection``: the process's blocking Redis client (``Services.sync_redis``); its owner closes it.
    """

    def __init__(self, connection: redis.Redis, prefix: str, *, job_timeout_seconds: int) -> None:
        self.prefix = prefix
        self.connection = connection
        self.queue = make_queue(connection, prefix, RECONCILIATION)
        self.job_timeout = job_timeout_seconds
        self.outage = Outage(log, "The reconciliation queue (Redis)")

    async def wake_run(self, run_id: RunId) -> bool:
        return await asyncio.to_thread(self.wake_run_now, run_id)

    def wake_run_now(self, run_id: RunId) -> bool:
        """The blocking call; ``False`` when this run's wake-up is already queued or running."""
        rq_id = run_wake_id(self.prefix, run_id)
        try:
            woken = self._enqueue(rq_id, run_id) or (
                _delete_if_spent(self.connection, rq_id, None) and self._enqueue(rq_id, run_id)
            )
        except redis.RedisError as exc:
            self.outage.failed(exc, "runs stay queued in PostgreSQL; drift detection wakes them again")
            raise DependencyUnavailable("the reconciliation queue (Redis) is unavailable") from exc
        self.outage.recovered()
        return woken

    def _enqueue(self, rq_id: str, run_id: RunId) -> bool:
        try:
            self.queue.enqueue(
                RECONCILE_FUNC,
                str(run_id),
                job_id=rq_id,
                unique=True,
                result_ttl=RESULT_TTL_SECONDS,
                failure_ttl=FAILURE_TTL_SECONDS,
                job_timeout=self.job_timeout,
                description=f"reconciliation run {run_id}",
            )
        except DuplicateJobError:
            return False
        return True
