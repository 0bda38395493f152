"""One long-lived runtime per worker process: an asyncio loop and the services, reused by every job.

RQ's forking worker would rebuild pools and clients for each job; our workers
do not fork (see docs/orders.md), so a process builds its services once, when
it starts, and closes them when it stops.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from restosync_adapters.bootstrap import Services, bootstrap
from restosync_adapters.prometheus import use_metrics_dir
from restosync_adapters.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")


def _main_thread_takes_stop_signals() -> None:
    """Executor threads block SIGTERM/SIGINT, so the kernel delivers them to the main thread.

    Otherwise a stop signal may land on an idle helper thread while the main thread
    sits in Redis's blocking dequeue, and the worker would not notice it for minutes.
    """
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})


async def _first_connection(pool: AsyncConnectionPool) -> None:
    """Wait (10 s at most) for a connection, so the first job does not pay for it.

    Not ``pool.wait()``: that one closes the pool for good if PostgreSQL is down.
    """
    async with pool.connection(timeout=10.0):
        pass


class Runtime:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.runner = asyncio.Runner()
        self.loop = self.runner.get_loop()
        self.loop.set_default_executor(
            ThreadPoolExecutor(max_workers=4, initializer=_main_thread_takes_stop_signals)
        )
        self.runner.run(services.start())
        if services.pool is not None:
            try:
                self.runner.run(_first_connection(services.pool))
            except (PoolTimeout, psycopg.Error):  # the pool keeps connecting; jobs meanwhile are transient
                log.warning("the database is unavailable at start; its pool keeps trying to connect")

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run one job's coroutine on this process's loop.

        Straight on the loop rather than ``Runner.run``: that one looks up the SIGINT
        handler on every call (RQ owns SIGINT here) and runs every job in one context
        copied when the runner was made, so ids a job binds for its log lines
        (``bind_context``) would not reach the lines its coroutine logs. Here the
        job's task copies the job's context.
        """
        return self.loop.run_until_complete(coro)

    def close(self) -> None:
        try:
            self.runner.run(self.services.stop())
        finally:
            self.runner.close()


_current: Runtime | None = None


def start(settings: Settings | None = None, **overrides: Any) -> Runtime:
    """Build this process's runtime (once; a second call answers the first one).

    Its database sessions commit asynchronously unless ``WORKER_SYNCHRONOUS_COMMIT``:
    everything a worker writes (claims, delivery outcomes, dead letters, agent health
    transitions) is redone if a PostgreSQL crash undoes it (docs/orders.md).
    """
    global _current
    if _current is None:
        settings = settings or Settings.from_env()
        use_metrics_dir(settings.metrics_dir)  # before this process counts a delivery
        overrides.setdefault("synchronous_commit", settings.worker_synchronous_commit)
        _current = Runtime(bootstrap(settings, **overrides))
    return _current


def is_started() -> bool:
    return _current is not None


def current() -> Runtime:
    return _current or start()


def stop() -> None:
    global _current
    if _current is not None:
        runtime, _current = _current, None
        runtime.close()
