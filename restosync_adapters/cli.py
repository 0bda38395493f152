"""The ``restosync`` command: migrate, api, worker, scheduler, and run (all of them together).

The shells are imported by name at run time: adapters never import a shell
statically (see the import-linter contracts in pyproject.toml).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import subprocess
import sys
import time
from types import FrameType

from restosync_adapters.logging import configure_logging
from restosync_adapters.postgres.migrate import MigrationError, ensure_database, migrate
from restosync_adapters.settings import Settings, SettingsError

log = logging.getLogger("restosync.cli")

SHELLS = {
    "api": "restosync_http.__main__",
    "worker": "restosync_worker.__main__",
    "scheduler": "restosync_worker.scheduler",
}
STOP_GRACE_SECONDS = 35.0


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        raise SystemExit(2) from None


def cmd_migrate() -> int:
    settings = _settings()
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
    module = importlib.import_module(SHELLS[name])
    result: int = module.main(argv)
    return result


def cmd_run(argv: list[str]) -> int:
    """Migrate, then API + worker + scheduler as child processes; a stop signal stops them all."""
    if (code := cmd_migrate()) != 0:
        return code
    children: dict[str, subprocess.Popen[bytes]] = {}
    stopping = False

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        if not stopping:
            log.info("stopping (signal %s): API, worker and scheduler", signal.Signals(signum).name)
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    for name, module in SHELLS.items():
        children[name] = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", module, *argv], start_new_session=True
        )
        log.info("started %s (pid %d)", name, children[name].pid)
    exit_code = 0
    while not stopping:
        for name, child in children.items():
            if child.poll() is not None:
                log.error("%s exited with code %s; stopping the others", name, child.returncode)
                exit_code = child.returncode or 1
                stopping = True
                break
        time.sleep(0.2)
    _stop_children(children)
    return exit_code


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
    parser.add_argument("command", choices=["migrate", "api", "worker", "scheduler", "run"])
    parser.add_argument("args", nargs=argparse.REMAINDER, help="passed to the command")
    ns = parser.parse_args(argv)
    if ns.command == "migrate":
        return cmd_migrate()
    if ns.command == "run":
        return cmd_run([])
    return cmd_shell(ns.command, ns.args)


if __name__ == "__main__":
    raise SystemExit(main())
