"""RestosyncWorker: RQ's non-forking worker, with this process's runtime built before the first job."""

from __future__ import annotations

import logging
from typing import Any

from rq import Queue, SimpleWorker, Worker
from rq.serializers import JSONSerializer

from restosync_adapters.rq_queue import JsonJob
from restosync_worker import runtime

log = logging.getLogger(__name__)


class JsonQueue(Queue):
    job_class = JsonJob

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("serializer", JSONSerializer)
        super().__init__(*args, **kwargs)


class RestosyncWorker(SimpleWorker):
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


class ForkingRestosyncWorker(Worker):
    """RQ's default worker (a fork per job), kept only to measure what not forking saves.

    Each job's process starts without this process's runtime and builds its own
    services: the cost the non-forking worker avoids.
    """

    queue_class = JsonQueue
    job_class = JsonJob

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("serializer", JSONSerializer)
        kwargs.setdefault("job_class", JsonJob)
        kwargs.setdefault("queue_class", JsonQueue)
        super().__init__(*args, **kwargs)

    @property
    def dequeue_timeout(self) -> int:
        return 3

    def work(self, *args: Any, **kwargs: Any) -> bool:
        try:
            return super().work(*args, **kwargs)
        finally:
            runtime.stop()
