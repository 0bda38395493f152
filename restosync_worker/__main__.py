"""``python -m restosync_worker``: RQ workers on order-sync, reconciliation and image-sync.

``WORKER_CONCURRENCY`` non-forking worker processes under RQ's WorkerPool (which
restarts one that dies). The sweeper runs once first, so whatever Redis lost
while no worker was up is queued again. SIGTERM/SIGINT: each worker finishes
the job in hand and stops; a job cut short anyway (second signal, kill -9) is
safe in PostgreSQL and is delivered again once its claim expires.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from rq.serializers import JSONSerializer
from rq.worker_pool import WorkerPool

from restosync_adapters.bootstrap import bootstrap
from restosync_adapters.logging import configure_logging
from restosync_adapters.queues import LOGICAL_QUEUES, rq_queue_name
from restosync_adapters.redis.clients import make_sync_redis
from restosync_adapters.rq_queue import JsonJob
from restosync_adapters.settings import Settings, SettingsError
from restosync_worker.worker import ForkingRestosyncWorker, JsonQueue, RestosyncWorker

log = logging.getLogger("restosync_worker")


async def sweep_once(settings: Settings) -> int:
    services = bootstrap(settings, pool_size=1)
    await services.start()
    try:
        return await services.orders.sweep()
    finally:
        await services.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="restosync worker", description=__doc__.splitlines()[0])
    parser.add_argument("--burst", action="store_true", help="stop once the queues are empty (tests)")
    parser.add_argument("--concurrency", type=int, default=None, help="worker processes (WORKER_CONCURRENCY)")
    parser.add_argument(
        "--fork", action="store_true",
        help="RQ's forking worker instead (a process per job; for comparison only: see docs/orders.md)",
    )
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    try:
        woken = asyncio.run(sweep_once(settings))
        log.info("start-up sweep queued %d sync job wake-up(s)", woken)
    except Exception:
        log.exception("the start-up sweep failed; the scheduler's sweeper will catch up")
    queues = [rq_queue_name(settings.redis_prefix, logical) for logical in LOGICAL_QUEUES]
    pool = WorkerPool(
        queues,
        connection=make_sync_redis(settings.redis_url),
        num_workers=args.concurrency or settings.worker_concurrency,
        worker_class=ForkingRestosyncWorker if args.fork else RestosyncWorker,
        serializer=JSONSerializer,
        job_class=JsonJob,
        queue_class=JsonQueue,
    )
    log.info("starting %d worker(s) on %s", pool.num_workers, ", ".join(queues))
    pool.start(burst=args.burst, logging_level=settings.log_level.upper())
    log.info("all workers stopped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
