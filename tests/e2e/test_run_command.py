"""``restosync run``: migrate, then API + worker + scheduler; /health 200; Ctrl-C or SIGTERM stops them all, fast."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from restosync_adapters.settings import Settings
from tests.conftest import process_env
from tests.e2e.conftest import free_port, wait_until
from tests.e2e.system import RedisServer, System, alive, delivered, descendants
from tests.fake_agent import FakeAgent

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
    env = process_env(settings, PORT=str(port), WORKER_CONCURRENCY="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "restosync_cli", "run"],
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


STOP_WITHIN_SECONDS = 10


def test_run_stops_within_10_s_of_sigterm_after_its_workers_delivered_orders(
    settings: Settings, own_redis: RedisServer, agent: FakeAgent
) -> None:
    system = System(settings, redis_url=own_redis.url)
    try:
        system.wait_healthy()
        system.register("vendor-1", agent)
        placed = [system.place("vendor-1", f"S-{i}") for i in range(20)]
        assert [p.status for p in placed] == [201] * 20
        wait_until(lambda: set(system.accepted()) <= set(delivered(agent)), 30, "every order delivered")
        wait_until(lambda: len(agent.erp_orders) == 20 and not agent.callback_errors, 30, "the callbacks")
        everything = descendants(system.proc.pid)
        assert len(everything) >= 6, everything  # api, worker + 2 processes (+ RQ's schedulers), scheduler

        stop_sent = time.monotonic()
        system.proc.send_signal(signal.SIGTERM)
        assert system.proc.wait(timeout=STOP_WITHIN_SECONDS) == 0
        left = STOP_WITHIN_SECONDS - (time.monotonic() - stop_sent)
        wait_until(lambda: not any(alive(pid) for pid in everything), max(left, 0.1), "every process to end")
        print(f"restosync run stopped in {time.monotonic() - stop_sent:.1f} s")
    finally:
        system.close()


def test_run_restarts_a_child_that_dies_and_keeps_the_others(settings: Settings, own_redis: RedisServer) -> None:
    system = System(settings, redis_url=own_redis.url)
    try:
        system.wait_healthy()
        children = descendants(system.proc.pid, depth=1)
        scheduler = next(pid for pid, cmd in children.items() if "restosync_worker.scheduler" in cmd)
        os.kill(scheduler, signal.SIGKILL)

        def restarted() -> bool:
            now = descendants(system.proc.pid, depth=1)
            return any("restosync_worker.scheduler" in cmd for pid, cmd in now.items() if pid != scheduler)

        wait_until(restarted, 30, "run to start the scheduler again")
        assert set(children) - {scheduler} <= set(descendants(system.proc.pid, depth=1)), "the others kept running"
        wait_until(lambda: system.http.get("/health").status_code == 200, 30, "/health = 200")
        assert "scheduler exited with code -9; restarting it in 1 s" in system.output()
        assert system.stop(timeout=30) == 0
    finally:
        system.close()
