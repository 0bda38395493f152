"""``restosync run``: migrate, then API + worker + scheduler; /health 200; Ctrl-C stops them all."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import httpx

from restosync_adapters.settings import Settings
from tests.e2e.conftest import free_port, wait_until
from tests.e2e.test_api_process import _env

ROOT = Path(__file__).resolve().parents[2]


def _children_of(pid: int) -> set[int]:
    found: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_run_serves_health_then_ctrl_c_stops_every_process(settings: Settings) -> None:
    port = free_port()
    env = {**_env(settings), "PORT": str(port), "WORKER_CONCURRENCY": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "restosync_adapters.cli", "run"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        wait_until(lambda: httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200, 60, "/health = 200")
        body = httpx.get(f"http://127.0.0.1:{port}/health").json()
        assert body["status"] == "ok"
        children = _children_of(proc.pid)
        assert len(children) == 3, children  # api, worker, scheduler
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
        wait_until(lambda: not any(_alive(pid) for pid in children), 10, "every child to exit")
    finally:
        if proc.poll() is None:
            proc.kill()
    output = proc.stdout.read() if proc.stdout else ""
    for name in ("api", "worker", "scheduler"):
        assert f'"{name} stopped' in output or f"{name} stopped" in output, output[-3000:]
