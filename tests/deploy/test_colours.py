"""The local colours runtime where things go wrong: a failed migration, an API that exits, a stubborn process."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from restosync_cli.bluegreen import ColourState, DeployError
from restosync_cli.colours import LocalColours, alive, terminate_group

# A "release" whose every restosync command is this script: it prints, then exits 3.
FAILING = (sys.executable, "-c", "import sys; print('restosync: cannot reach the database'); sys.exit(3)")
# A restosync-named process that ignores SIGTERM.
STUBBORN = [sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "time.sleep(60)  # restosync"]


def test_a_failed_migration_is_a_deploy_error_with_its_output(tmp_path: Path) -> None:
    colours = LocalColours(tmp_path, {})
    with pytest.raises(DeployError, match="migrate with v9 failed: restosync: cannot reach the database"):
        colours.migrate(ColourState("green", "v9", 8002, command=FAILING))


def test_an_api_that_exits_fails_the_health_wait_at_once(tmp_path: Path) -> None:
    colours = LocalColours(tmp_path, {})
    started = colours.start(ColourState("green", "v9", 8002, command=FAILING))
    deadline = time.monotonic() + 10
    while alive(started.api_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    with pytest.raises(DeployError, match=r"the green API \(v9\) exited; see .*green-api\.log"):
        colours.healthy(started)
    assert "cannot reach the database" in (tmp_path / "green-api.log").read_text()
    colours.stop(started)


def test_a_process_that_ignores_sigterm_is_killed_after_the_grace_period() -> None:
    process = subprocess.Popen(STUBBORN, start_new_session=True)
    time.sleep(0.3)  # let it install its SIGTERM handler
    assert alive(process.pid)
    started = time.monotonic()
    terminate_group(process.pid, grace=0.5)
    assert process.wait(5) == -9
    assert time.monotonic() - started < 5


def test_workers_still_running_are_not_started_twice(tmp_path: Path) -> None:
    process = subprocess.Popen(STUBBORN, start_new_session=True)
    try:
        colour = ColourState("blue", "v1", 8001, worker_pid=process.pid, command=FAILING)
        assert LocalColours(tmp_path, {}).start_workers(colour) == colour
    finally:
        process.kill()
        process.wait()


def test_a_recorded_pid_that_is_not_restosync_is_never_signalled() -> None:
    process = subprocess.Popen(["sleep", "30"], start_new_session=True)
    try:
        assert not alive(process.pid)
        terminate_group(process.pid, grace=0.1)
        assert process.poll() is None
    finally:
        process.kill()
        process.wait()
