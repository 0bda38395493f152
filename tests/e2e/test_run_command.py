"""``restosync run``: migrate, then API + two worker groups + scheduler; /health 200; Ctrl-C or SIGTERM stops all."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import redis
from prometheus_client.parser import text_string_to_metric_families
from rq import Worker

from restosync_adapters.queues import IMAGE_SYNC, ORDER_SYNC, RECONCILIATION, rq_queue_name
from restosync_adapters.rq_queue import make_queue
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
        assert len(children) == 4, children  # api, order workers, reconciliation workers, scheduler
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
        wait_until(lambda: not any(_alive(pid) for pid in children), 10, "every child to exit")
    finally:
        if proc.poll() is None:
            proc.kill()
    output = proc.stdout.read() if proc.stdout else ""
    for name in ("api", "worker", "reconciliation-worker", "scheduler"):
        assert f'"{name} stopped' in output, output[-3000:]


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

        # One scrape of the API answers for the worker processes too (one METRICS_DIR for all of them).
        # The agent knows an order before its worker records the outcome, and before its callback is
        # answered: wait for the counts to arrive, then check them.
        def scrape() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
            scraped = system.http.get("/metrics", headers=system.admin)
            assert scraped.status_code == 200, scraped.text
            return {
                (s.name, tuple(sorted(s.labels.items()))): s.value
                for family in text_string_to_metric_families(scraped.text) for s in family.samples
            }

        def called(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float]) -> float:
            # sent, or overtaken: the fake agent calls back at once, often before the worker records "sent"
            return sum(samples.get(("restosync_order_deliveries_total", (("outcome", o),)), 0)
                       for o in ("sent", "overtaken"))

        def counted() -> dict[tuple[str, tuple[tuple[str, str], ...]], float] | None:
            samples = scrape()
            return samples if called(samples) >= 20 else None

        samples = wait_until(counted, 30, "20 deliveries counted")
        order_requests = (("method", "POST"), ("route", "/api/orders"), ("status", "201"))
        assert samples[("restosync_http_requests_total", order_requests)] == 20

        # ... and the vendor's figures say the same, from PostgreSQL.
        def completed() -> dict[str, Any] | None:
            url = "/api/admin/metrics/vendor-1?window=1h"
            answer: dict[str, Any] = system.http.get(url, headers=system.admin).json()
            return answer if answer["completed"] == 20 else None

        done = wait_until(completed, 30, "20 completed callbacks")
        assert (done["total"], done["failed"], done["pending"], done["successRate"]) == (20, 0, 0, 1.0)

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


def test_run_serves_reconciliation_with_workers_of_its_own_so_a_long_run_never_delays_an_order(
    settings: Settings, own_redis: RedisServer, agent: FakeAgent
) -> None:
    system = System(settings, redis_url=own_redis.url, WORKER_CONCURRENCY="1", RECONCILIATION_WORKER_CONCURRENCY="1")
    connection = redis.Redis.from_url(own_redis.url)
    try:
        system.wait_healthy()
        groups = {
            pid: cmd.split("--queues ", 1)[1].split()[0]
            for pid, cmd in descendants(system.proc.pid, depth=1).items()
            if "restosync_worker.__main__" in cmd
        }
        assert sorted(groups.values()) == [f"{ORDER_SYNC},{IMAGE_SYNC}", RECONCILIATION], groups

        def listening() -> list[list[str]]:
            return sorted(sorted(w.queue_names()) for w in Worker.all(connection=connection))

        def name(logical: str) -> str:
            return rq_queue_name(settings.redis_prefix, logical)

        expected = [sorted([name(IMAGE_SYNC), name(ORDER_SYNC)]), [name(RECONCILIATION)]]
        wait_until(lambda: listening() == sorted(expected), 30, "one RQ worker per group, on its own queues")

        # The only reconciliation worker is busy for a long while: orders are delivered all the same.
        busy = make_queue(connection, settings.redis_prefix, RECONCILIATION).enqueue("time.sleep", 60)
        wait_until(lambda: busy.get_status(refresh=True) == "started", 30, "the long job to start")
        system.register("vendor-1", agent)
        placed = system.place("vendor-1", "R-1")
        assert placed.status == 201
        wait_until(lambda: set(system.accepted()) <= set(delivered(agent)), 15, "the order delivered")
        assert busy.get_status(refresh=True) == "started", "delivered while the long job still ran"
    finally:
        connection.close()
        system.close()


def _port_free(port: int) -> bool:
    """Nothing listens on ``port`` (binding would be refused for a while anyway: TIME_WAIT)."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def test_a_parent_killed_with_sigkill_leaves_no_child_alive_and_frees_the_port(
    settings: Settings, own_redis: RedisServer
) -> None:
    system = System(settings, redis_url=own_redis.url)
    try:
        system.wait_healthy()
        everything = descendants(system.proc.pid)
        assert len(everything) >= 6, everything  # api, 2 worker shells + their processes, scheduler
        assert not _port_free(system.port)
        os.kill(system.proc.pid, signal.SIGKILL)  # no handler runs: the children must notice by themselves
        system.proc.wait(timeout=10)
        wait_until(lambda: not [pid for pid in everything if alive(pid)], 20,
                   f"every child of the killed parent to stop: {everything}")
        wait_until(lambda: _port_free(system.port), 5, f"port {system.port} to be free")
        assert "is gone; stopping" in system.output()
    finally:
        system.close()


def test_a_worker_shell_killed_with_sigkill_leaves_no_worker_process_behind(settings: Settings) -> None:
    """The worker shell alone (as under systemd or compose, no ``run`` above it to clean up after it)."""
    shell = subprocess.Popen(
        [sys.executable, "-m", "restosync_worker", "--concurrency", "2"],
        cwd=ROOT, env=process_env(settings), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    processes: dict[int, str] = {}
    try:
        wait_until(lambda: len(descendants(shell.pid, depth=1)) == 2, 30, "the worker shell's 2 processes")
        processes = descendants(shell.pid)
        os.kill(shell.pid, signal.SIGKILL)
        shell.wait(timeout=10)
        wait_until(lambda: not [pid for pid in processes if alive(pid)], 20,
                   f"the killed worker shell's processes to stop: {processes}")
    finally:
        for pid in [shell.pid, *processes]:
            if alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
