"""The ``restosync`` command: migrate, api, worker, scheduler, run (all of them together), deploy, rollback.

It sits above the shells: it imports them (and the adapters it needs to migrate),
and nothing imports it (see the import-linter contracts in pyproject.toml).
``deploy`` and ``rollback`` are the blue-green deployment of ``restosync_cli.bluegreen``.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import FrameType

from restosync_adapters.bootstrap import IMAGE_SYNC, ORDER_SYNC, RECONCILIATION
from restosync_adapters.lifecycle import PARENT_PID_ENV
from restosync_adapters.logging import configure_logging
from restosync_adapters.postgres.migrate import MigrationError, ensure_database, migrate
from restosync_adapters.prometheus import MULTIPROC_ENV, wipe_metrics_dir
from restosync_adapters.settings import Settings
from restosync_cli import deploy_command
from restosync_http import __main__ as api_shell
from restosync_worker import __main__ as worker_shell
from restosync_worker import scheduler as scheduler_shell
from restosync_worker.reconnect import Backoff

log = logging.getLogger("restosync.cli")

SHELLS: dict[str, Callable[[list[str] | None], int]] = {
    "api": api_shell.main,
    "worker": worker_shell.main,
    "scheduler": scheduler_shell.main,
}
"""Each shell's entry point, run in this process by ``restosync <name>``."""

STOP_GRACE_SECONDS = 35.0
"""A child still running this long after SIGTERM is killed (the API lets requests finish for 30 s)."""
RESTART_INITIAL_SECONDS = 1.0
RESTART_CAP_SECONDS = 30.0
HEALTHY_AFTER_SECONDS = 60.0


def run_children(settings: Settings) -> dict[str, list[str]]:
    """What ``restosync run`` starts as child processes: name -> ``python -m`` module and arguments.

    Two worker groups: the order workers (``WORKER_CONCURRENCY``) and the reconciliation
    workers (``RECONCILIATION_WORKER_CONCURRENCY``), so a long run never delays an order.
    Cron ticks queued on ``reconciliation`` run in the second group.
    """
    return {
        "api": [api_shell.__name__],
        "worker": [worker_shell.__name__, "--queues", f"{ORDER_SYNC},{IMAGE_SYNC}",
                   "--concurrency", str(settings.worker_concurrency)],
        "reconciliation-worker": [worker_shell.__name__, "--queues", RECONCILIATION,
                                  "--concurrency", str(settings.reconciliation_worker_concurrency)],
        "scheduler": [scheduler_shell.__name__],
    }


def cmd_migrate() -> int:
    settings = Settings.load_or_exit()
    configure_logging(settings.log_level)
    try:
        if ensure_database(settings.database_url):
            log.info("created the database named in DATABASE_URL")
        applied = migrate(settings.database_url)
    except MigrationError as exc:
        log.error("%s", exc)
        return 1
    log.info("migrations up to date (%d applied now)", len(applied))
    return 0


def cmd_shell(name: str, argv: list[str]) -> int:
    return SHELLS[name](argv)


@dataclass
class _Child:
    """One supervised shell process, and when to start it again after it ended."""

    name: str
    args: list[str]
    """``python -m`` and these: the module and its arguments."""
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    restart_at: float = 0.0
    backoff: Backoff = field(default_factory=lambda: Backoff(initial=RESTART_INITIAL_SECONDS, cap=RESTART_CAP_SECONDS))

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", *self.args], start_new_session=True,
            env={**os.environ, PARENT_PID_ENV: str(os.getpid())},  # it stops if this process dies
        )
        self.started = time.monotonic()
        log.info("started %s (pid %d)", self.name, self.process.pid)

    def reap(self) -> None:
        """If it ended, plan its restart: at once after a good run, with growing delays after quick crashes."""
        if self.process is None or self.process.poll() is None:
            return
        code, pid = self.process.returncode, self.process.pid
        self.process = None
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGTERM)  # what it left behind (a worker's own processes)
        if time.monotonic() - self.started >= HEALTHY_AFTER_SECONDS:
            self.backoff.reset()
        delay = self.backoff.next()
        self.restart_at = time.monotonic() + delay
        log.error("%s exited with code %s; restarting it in %.0f s", self.name, code, delay)


def cmd_run() -> int:
    """Migrate, then API + the two worker groups + scheduler as child processes, each restarted if it ends.

    A child that exits (a crash, a bug, a dependency it could not ride out) is started
    again after ``RESTART_INITIAL_SECONDS``, doubling up to ``RESTART_CAP_SECONDS`` while it
    keeps ending quickly; a child that ran ``HEALTHY_AFTER_SECONDS`` starts again at once.
    The others keep running. A stop signal stops them all. They share one metrics
    directory (:func:`shared_metrics_dir`), so ``GET /metrics`` answers for all of them.
    """
    if (code := cmd_migrate()) != 0:
        return code
    settings = Settings.load_or_exit()
    with shared_metrics_dir(settings.metrics_dir):
        return _run_children(settings)


@contextlib.contextmanager
def shared_metrics_dir(configured: str | None) -> Iterator[str]:
    """The one directory where every child records its Prometheus metrics, for ``GET /metrics`` to sum.

    ``METRICS_DIR`` when set, else a fresh temporary directory removed at the end. Emptied
    first (counters of an earlier run would be summed with this one's) and handed to the
    children through the environment, where prometheus-client looks for it on import.
    """
    path = configured or tempfile.mkdtemp(prefix="restosync-metrics-")
    os.makedirs(path, exist_ok=True)
    if removed := wipe_metrics_dir(path):
        log.info("emptied the metrics directory %s (%d files of an earlier run)", path, removed)
    os.environ["METRICS_DIR"] = os.environ[MULTIPROC_ENV] = path
    try:
        yield path
    finally:
        if configured is None:
            shutil.rmtree(path, ignore_errors=True)


def _run_children(settings: Settings) -> int:
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        if not stop.is_set():
            log.info("stopping (signal %s): API, workers and scheduler", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    children = [_Child(name, args) for name, args in run_children(settings).items()]
    for child in children:
        child.start()
    while not stop.is_set():
        for child in children:
            child.reap()
            if child.process is None and time.monotonic() >= child.restart_at and not stop.is_set():
                child.start()
        stop.wait(0.2)
    _stop_children({c.name: c.process for c in children if c.process is not None})
    return 0


def _stop_children(children: dict[str, subprocess.Popen[bytes]]) -> None:
    for child in children.values():
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for name, child in children.items():
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop within %.0f s; killing it", name, STOP_GRACE_SECONDS)
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
        log.info("%s stopped (code %s)", name, child.returncode)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="restosync", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("command", choices=["migrate", "api", "worker", "scheduler", "run", "deploy", "rollback"])
    parser.add_argument("args", nargs=argparse.REMAINDER, help="passed to the command")
    ns = parser.parse_args(argv)
    if ns.command == "migrate":
        return cmd_migrate()
    if ns.command == "run":
        return cmd_run()
    if ns.command in ("deploy", "rollback"):
        return deploy_command.main(ns.command, ns.args)
    return cmd_shell(ns.command, ns.args)

