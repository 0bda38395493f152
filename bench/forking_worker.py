"""``python -m bench.forking_worker``: the worker shell on RQ's forking worker, for the orders bench only.

RQ's default worker forks a process per job, so each job starts without the
process's runtime and builds its own services: the cost restosync's
non-forking worker avoids (docs/orders.md, ``python -m bench orders --fork``).
"""

from __future__ import annotations

import sys
from typing import Any

from rq import Worker
from rq.serializers import JSONSerializer

from restosync_adapters.bootstrap import JsonJob
from restosync_worker import runtime
from restosync_worker.__main__ import main
from restosync_worker.worker import JsonQueue, OutageAwareWorker


class ForkingRestosyncWorker(OutageAwareWorker, Worker):
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


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:], worker_class=ForkingRestosyncWorker))
