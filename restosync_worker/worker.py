"""RestosyncWorker: RQ's non-forking worker, with this process's runtime built before the first job."""

from __future__ import annotations

import logging
import threading
from types import FrameType
from typing import Any

import redis
from redis.client import Pipeline
from rq import Queue, SimpleWorker
from rq.exceptions import StopRequested
from rq.serializers import JSONSerializer
from rq.worker import BaseWorker

from restosync_adapters.bootstrap import JsonJob
from restosync_worker import runtime

log = logging.getLogger(__name__)

STOP = threading.Event()
"""Set by a stop signal: this process's work loop is not started again (``processes.serve``)."""


class JsonQueue(Queue):
    job_class = JsonJob

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("serializer", JSONSerializer)
        super().__init__(*args, **kwargs)


class OutageAwareWorker(BaseWorker):
    """Leaves RQ's work loop when Redis goes away, and tells ``processes.serve`` when a stop was asked.

    A mixin on RQ's ``BaseWorker``: ``SimpleWorker`` and ``Worker`` both derive from it (and not
    from each other), so it must come first in a worker's bases without bringing ``Worker``'s
    forking ``execute_job`` along.
    """

    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        STOP.set()
        super().request_stop(signum, frame)  # type: ignore[no-untyped-call]  # rq leaves it unannotated

    def heartbeat(self, timeout: int | None = None, pipeline: Pipeline | None = None) -> None:
        """RQ's heartbeat; when Redis is gone, leave RQ's work loop (``processes.serve`` starts another).

        RQ would otherwise keep retrying inside its dequeue (a log line per attempt, up to a
        minute apart) with its scheduler process dead until its next maintenance, ten minutes on.
        Also leaves it if ``STOP`` is set: RQ installs its signal handlers only once its loop is
        about to start, and a signal before that only set ``STOP``.
        """
        if pipeline is None and STOP.is_set():  # a stop signal that came before RQ's handlers were in place
            raise StopRequested
        try:
            super().heartbeat(timeout, pipeline)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise StopRequested from exc


class RestosyncWorker(OutageAwareWorker, SimpleWorker):
    """Runs each job in this process (no fork): pools, clients and the event loop live across jobs.

    A warm stop (SIGTERM/SIGINT) lets the job in hand finish; the runtime is
    closed when the work loop ends, however it ends.
    """

    queue_class = JsonQueue
    job_class = JsonJob

    @property
    def dequeue_timeout(self) -> int:
        """Wait at most this long in one blocking dequeue (RQ's default is ~7 minutes).

        A stop signal the kernel hands to a helper thread (httpx's resolver threads,
        say) only reaches RQ's handler when the main thread next runs Python code:
        short dequeues bound how long a stop can take to a few seconds.
        """
        return 3

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("serializer", JSONSerializer)
        kwargs.setdefault("job_class", JsonJob)
        kwargs.setdefault("queue_class", JsonQueue)
        super().__init__(*args, **kwargs)

    def work(self, *args: Any, **kwargs: Any) -> bool:
        owned = not runtime.is_started()  # tests start one runtime for many bursts
        runtime.start()
        try:
            return super().work(*args, **kwargs)
        finally:
            if owned:
                runtime.stop()
