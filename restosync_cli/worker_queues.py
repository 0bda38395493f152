"""``restosync worker --queues order-sync,image-sync``: workers on some of the queues only.

Lets a deployment size each queue's workers apart (the spec's 5 for order-sync, 2 for
reconciliation, docker-compose.yml); without ``--queues`` the worker shell serves all three.
"""

from __future__ import annotations

import argparse
import functools
import logging

from restosync_adapters.logging import configure_logging
from restosync_adapters.queues import LOGICAL_QUEUES, rq_queue_name
from restosync_adapters.settings import Settings
from restosync_worker.processes import WorkerProcesses
from restosync_worker.processes import serve as serve_worker
from restosync_worker.worker import RestosyncWorker

log = logging.getLogger("restosync.cli")


def parse_queues(value: str) -> list[str]:
    """``order-sync,image-sync`` -> those logical queues, in that order; an unknown name is an error."""
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in LOGICAL_QUEUES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown queue {', '.join(unknown) or '(none given)'}; choose from {', '.join(LOGICAL_QUEUES)}"
        )
    return names


def main(argv: list[str]) -> int:
    """The worker shell's ``main`` with the queues chosen (it serves all three)."""
    parser = argparse.ArgumentParser(prog="restosync worker", description="RQ workers on the queues named.")
    parser.add_argument("--queues", type=parse_queues, required=True,
                        help=f"comma-separated, of {', '.join(LOGICAL_QUEUES)}")
    parser.add_argument("--burst", action="store_true", help="stop once the queues are empty (tests)")
    parser.add_argument("--concurrency", type=int, default=None, help="worker processes (WORKER_CONCURRENCY)")
    args = parser.parse_args(argv)
    settings = Settings.load_or_exit()
    configure_logging(settings.log_level)
    queues = [rq_queue_name(settings.redis_prefix, logical) for logical in args.queues]
    target = functools.partial(
        serve_worker, settings, queues, RestosyncWorker, burst=args.burst, logging_level=settings.log_level.upper()
    )
    processes = WorkerProcesses(args.concurrency or settings.worker_concurrency, target, restart=not args.burst)
    log.info("starting %d worker(s) on %s", len(processes.slots), ", ".join(queues))
    processes.run()
    log.info("all workers stopped")
    return 0
