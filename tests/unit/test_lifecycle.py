"""``watch_parent``: a supervised process stops (SIGTERM) once its parent is gone; others never watch."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from restosync_adapters.lifecycle import PARENT_PID_ENV, watch_parent

WATCH = """
import time
from restosync_adapters.lifecycle import watch_parent
print(watch_parent(poll_seconds=0.05) is not None, flush=True)
time.sleep(60)
"""


def _watching(parent: int) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", WATCH], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, PARENT_PID_ENV: str(parent)})


def test_a_process_no_longer_under_the_parent_it_was_named_gets_sigterm() -> None:
    child = _watching(1)  # its parent is this test, not pid 1: as if the named parent had died
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "True"
        assert child.wait(timeout=30) == -signal.SIGTERM
    finally:
        child.kill()
        child.wait()


def test_a_process_under_the_parent_it_was_named_keeps_running() -> None:
    child = _watching(os.getpid())
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "True"
        with pytest.raises(subprocess.TimeoutExpired):
            child.wait(timeout=1)  # 20 polls, and still running
    finally:
        child.kill()
        child.wait()


def test_without_a_named_parent_nothing_watches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PARENT_PID_ENV, raising=False)
    assert watch_parent() is None
    monkeypatch.setenv(PARENT_PID_ENV, "not a pid")
    assert watch_parent() is None
