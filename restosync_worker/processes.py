"""The worker's processes: N of them, each running RQ's work loop again after every Redis outage.

RQ's own ``WorkerPool`` restarts a dead worker every second, and a worker's
work loop ends at most Redis errors. Here each process owns a small loop around
RQ's public entry point (``Worker.work``): wait for Redis with capped backoff
(one log line when it goes, one when it is back), wake every due sync job
(what Redis lost, or what was woken while PostgreSQL was down), then work until
a stop signal or the next outage. The parent restarts a process that dies with
capped backoff too.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess

import redis
from rq import SimpleWorker
from rq.serializers import JSONSerializer
from rq.worker import BaseWorker

from restosync_adapters.bootstrap import JsonJob
from restosync_adapters.lifecycle import watch_parent
from restosync_adapters.logging import Outage
from restosync_adapters.prometheus import forget_process
from restosync_adapters.settings import Settings
from restosync_worker import runtime
from restosync_worker.cron import run_task
from restosync_worker.reconnect import Backoff
from restosync_worker.worker import STOP, JsonQueue

log = logging.getLogger("restosync_worker")

RECONNECT_CAP_SECONDS = 5.0
"""While Redis is down, a worker tries again at most this long apart."""
RESTART_CAP_SECONDS = 30.0
ASK_AGAIN_AFTER_SECONDS = 10.0
"""A process still running this long after the stop signal was passed on gets it again: RQ then stops at
once (a job cut short is safe in PostgreSQL and delivered again once its claim expires)."""
HEALTHY_AFTER_SECONDS = 60.0
"""A process (or work loop) that ran this long before ending starts again at once; sooner, with backoff."""


def _stop_on_signals() -> None:
    """Outside RQ's work loop (which installs its own), a stop signal only sets ``STOP``."""

    def request_stop(signum: int, _frame: object) -> None:
        STOP.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, request_stop)


def _sweep() -> None:
    """Wake every due sync job: RQ may have lost wake-ups while Redis or PostgreSQL was down."""
    try:
        runtime.current().run(run_task("sweep-sync-jobs", runtime.current().services))
    except Exception as exc:
        log.warning("the sweep at start failed (%s: %s); the scheduler's sweeper will catch up",
                    type(exc).__name__, str(exc).splitlines()[0][:200] if str(exc) else "")


def _close_pubsub(worker: BaseWorker) -> None:
    """Stop the pub/sub thread RQ's teardown leaves running when Redis is down (it would retry forever)."""
    if worker.pubsub_thread is not None:
        worker.pubsub_thread.stop()
    if worker.pubsub is not None:
        with contextlib.suppress(Exception):
            worker.pubsub.close()


def serve(
    settings: Settings, queue_names: list[str], worker_class: type[BaseWorker], *, burst: bool, logging_level: str
) -> None:
    """One worker process: RQ's work loop, started afresh after each outage, until a stop signal."""
    _stop_on_signals()
    outage = Outage(log, "Redis")
    reconnect = Backoff(initial=0.5, cap=RECONNECT_CAP_SECONDS)
    restart = Backoff(initial=1.0, cap=RESTART_CAP_SECONDS)
    try:
        while not STOP.is_set():
            connection = runtime.start(settings).services.sync_redis  # the Redis client RQ works with
            try:
                connection.ping()
            except redis.RedisError as exc:
                outage.failed(exc, "the worker waits for it, then wakes every due job")
                STOP.wait(reconnect.next())
                continue
            outage.recovered()
            reconnect.reset()
            _sweep()
            if not issubclass(worker_class, SimpleWorker):
                runtime.stop()  # a forking worker's horses build their own runtime
            worker = worker_class(
                queue_names, connection=connection, serializer=JSONSerializer, job_class=JsonJob,
                queue_class=JsonQueue,
            )
            began = time.monotonic()
            try:
                worker.work(burst=burst, with_scheduler=True, logging_level=logging_level)
            except redis.RedisError as exc:  # RQ's teardown met the outage
                outage.failed(exc, "the worker waits for it, then wakes every due job")
            finally:
                _close_pubsub(worker)
                _stop_on_signals()  # RQ's handlers, left installed, would talk to Redis
            if burst or STOP.is_set():
                break
            if time.monotonic() - began < HEALTHY_AFTER_SECONDS:
                STOP.wait(restart.next())
            else:
                restart.reset()
    finally:
        runtime.stop()  # closes the services, the Redis client RQ used among them


@dataclass
class _Slot:
    number: int
    process: BaseProcess | None = None
    started: float = 0.0
    restart_at: float = 0.0
    backoff: Backoff = field(default_factory=lambda: Backoff(initial=1.0, cap=RESTART_CAP_SECONDS))


class WorkerProcesses:
    """``count`` processes running ``target``; one that dies is started again with capped backoff.

    SIGTERM/SIGINT: passed on to every process once (each finishes the job in hand),
    then wait for all of them.
    """

    def __init__(self, count: int, target: Callable[[], None], *, restart: bool = True) -> None:
        self.slots = [_Slot(n) for n in range(1, count + 1)]
        self.target = target
        self.restart = restart
        self.stopping = threading.Event()
        self._context = multiprocessing.get_context("fork")
        self._pid = os.getpid()
        self.stop_asked_at = 0.0
        self.asked_again = False

    def _request_stop(self, signum: int, _frame: object) -> None:
        if os.getpid() != self._pid:  # a process just forked, before ``serve`` put its own handlers in
            STOP.set()
            return
        if self.stopping.is_set():
            return
        log.info("stopping %d worker process(es) (signal %s)", len(self.slots), signal.Signals(signum).name)
        self.stopping.set()
        self.stop_asked_at = time.monotonic()
        self._signal_alive()

    def _signal_alive(self) -> None:
        for slot in self.slots:
            if slot.process is not None and slot.process.pid is not None and slot.process.is_alive():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(slot.process.pid, signal.SIGTERM)

    def _ask_again_if_slow(self) -> None:
        """Once: a process that did not stop after ``ASK_AGAIN_AFTER_SECONDS`` gets the signal again."""
        if self.asked_again or time.monotonic() - self.stop_asked_at < ASK_AGAIN_AFTER_SECONDS:
            return
        self.asked_again = True
        log.warning("worker process(es) still running %.0f s after the stop signal; signalling them again",
                    ASK_AGAIN_AFTER_SECONDS)
        self._signal_alive()

    def _run_target(self) -> None:
        """In the forked process: stop as on SIGTERM if this parent dies (no orphan keeps claiming jobs)."""
        watch_parent(self._pid)
        self.target()

    def _start(self, slot: _Slot) -> None:
        slot.process = self._context.Process(target=self._run_target, name=f"restosync worker {slot.number}")
        slot.process.start()
        slot.started = time.monotonic()
        if self.stopping.is_set() and slot.process.pid is not None:  # the stop came while it was forking
            with contextlib.suppress(ProcessLookupError):
                os.kill(slot.process.pid, signal.SIGTERM)

    def run(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._request_stop)
        for slot in self.slots:
            if not self.stopping.is_set():
                self._start(slot)
        while True:
            alive = 0
            for slot in self.slots:
                process = slot.process
                if process is not None and process.is_alive():
                    alive += 1
                    continue
                if process is not None:  # it just ended
                    process.join()
                    slot.process = None
                    if process.pid is not None:
                        forget_process(process.pid)
                    if self.stopping.is_set() or not self.restart:
                        continue
                    if time.monotonic() - slot.started >= HEALTHY_AFTER_SECONDS:
                        slot.backoff.reset()
                    delay = slot.backoff.next()
                    slot.restart_at = time.monotonic() + delay
                    log.error("worker process %d exited with code %s; starting another in %.0f s",
                              slot.number, process.exitcode, delay)
                elif not self.stopping.is_set() and self.restart and time.monotonic() >= slot.restart_at:
                    self._start(slot)
                    alive += 1
            if alive == 0 and (self.stopping.is_set() or not self.restart):
                return
            if self.stopping.is_set():
                self._ask_again_if_slow()
            time.sleep(0.2)
