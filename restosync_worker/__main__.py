"""``python -m restosync_worker``: RQ workers on order-sync, reconciliation and image-sync (or ``--queues``).

``WORKER_CONCURRENCY`` non-forking worker processes (``processes.WorkerProcesses``
restarts one that dies, with capped backoff). Each process wakes every due sync
job when it starts and again after each Redis outage, so whatever Redis lost
is queued again. SIGTERM/SIGINT: each worker finishes the job in hand and
stops; a job cut short anyway (second signal, kill -9) is safe in PostgreSQL
and is delivered again once its claim expires.
"""

from __future__ import annotations

import argparse
import functools
import logging

from rq.worker import BaseWorker

from restosync_adapters.bootstrap import LOGICAL_QUEUES, RECONCILIATION, rq_queue_name
from restosync_adapters.lifecycle import watch_parent
from restosync_adapters.logging import configure_logging
from restosync_adapters.prometheus import use_metrics_dir
from restosync_adapters.settings import Settings
from restosync_worker.processes import WorkerProcesses, serve
from restosync_worker.worker import RestosyncWorker

log = logging.getLogger("restosync_worker")


def parse_queues(value: str) -> list[str]:
    """``order-sync,image-sync`` -> those logical queues, in that order; an unknown name is an error.

    Lets a deployment size each queue's workers apart (the spec's 5 for order-sync, 2 for
    reconciliation: docker-compose.yml).
    """
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in LOGICAL_QUEUES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown queue {', '.join(unknown) or '(none given)'}; choose from {', '.join(LOGICAL_QUEUES)}"
        )
    return names


def default_concurrency(settings: Settings, queues: list[str]) -> int:
    """The reconciliation workers are sized apart from the order workers (the spec's 2 and 5)."""
    if queues == [RECONCILIATION]:
        return settings.reconciliation_worker_concurrency
    return settings.worker_concurrency


def main(argv: list[str] | None = None, *, worker_class: type[BaseWorker] = RestosyncWorker) -> int:
    """``worker_class``: the RQ worker each process runs (the benchmarks pass RQ's forking one)."""
    parser = argparse.ArgumentParser(prog="restosync worker", description=__doc__.splitlines()[0])
    parser.add_argument("--queues", type=parse_queues, default=list(LOGICAL_QUEUES),
                        help=f"comma-separated, of {', '.join(LOGICAL_QUEUES)} (default: all)")
    parser.add_argument("--burst", action="store_true", help="stop once the queues are empty (tests)")
    parser.add_argument("--concurrency", type=int, default=None,
                        help="worker processes (WORKER_CONCURRENCY; RECONCILIATION_WORKER_CONCURRENCY when "
                        "--queues is reconciliation alone)")
    args = parser.parse_args(argv)
    settings = Settings.load_or_exit()
    configure_logging(settings.log_level)
    watch_parent()  # under `restosync run`: stop if it dies
    use_metrics_dir(settings.metrics_dir)  # the worker processes forked below record there too
    queues = [rq_queue_name(settings.redis_prefix, logical) for logical in args.queues]
    target = functools.partial(
        serve, settings, queues, worker_class,
        burst=args.burst, logging_level=settings.log_level.upper(),
    )
    processes = WorkerProcesses(args.concurrency or default_concurrency(settings, args.queues), target,
                                restart=not args.burst)
    log.info("starting %d worker(s) on %s", len(processes.slots), ", ".join(queues))
    processes.run()
    log.info("all workers stopped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
