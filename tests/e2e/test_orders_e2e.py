"""Orders end to end: the real API and worker processes, the fake agent over HTTP, kill -9 included."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from restosync_adapters.settings import Settings
from restosync_worker.cron import CRON_ENTRIES
from tests.conftest import process_env
from tests.e2e.conftest import free_port, wait_until
from tests.e2e.system import register_over_http
from tests.fake_agent import FakeAgent

ROOT = Path(__file__).resolve().parents[2]
FAST = {
    "ORDER_RETRY_DELAYS_SECONDS": "0.2",
    "ORDER_CLAIM_SECONDS": "2",
    "AGENT_TIMEOUT_SECONDS": "1",
    "ORDER_CALLBACK_TIMEOUT_SECONDS": "30",
    "RATE_LIMITS_ENABLED": "false",
    "LOG_LEVEL": "INFO",
}


def _env(settings: Settings, **extra: str) -> dict[str, str]:
    return process_env(settings, **{**FAST, **extra})


def _spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    """A process in a session of its own (so kill -9 takes its children too), its logs in a file
    (a pipe nobody reads would fill and block it)."""
    log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 (closed by _output)
    proc = subprocess.Popen(
        [sys.executable, *args], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        text=True, start_new_session=True,
    )
    LOGS[proc.pid] = log
    return proc


LOGS: dict[int, Any] = {}


def _output(proc: subprocess.Popen[str]) -> str:
    log = LOGS.pop(proc.pid)
    log.seek(0)
    text: str = log.read()[-30000:]
    log.close()
    return text


def _stop(proc: subprocess.Popen[str], sig: int = signal.SIGTERM, timeout: float = 30) -> int:
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        return proc.wait(timeout=10)


def _expired(moment: str) -> bool:
    return datetime.fromisoformat(moment) < datetime.now(UTC)


class Api:
    def __init__(self, settings: Settings) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = _spawn(["-m", "restosync_http", "--port", str(self.port)], _env(settings))
        self.http = httpx.Client(base_url=self.url, timeout=10.0)
        self.admin = {"X-API-Key": settings.api_secret}
        self.settings = settings
        wait_until(lambda: self.http.get("/health").status_code == 200, 60, "the API to answer /health")

    def register(self, vendor: str, agent: FakeAgent) -> str:
        return register_over_http(self.http, self.settings, vendor, agent)

    def place(self, vendor: str, number: str) -> dict[str, Any]:
        body = {"vendorId": vendor, "orderNumber": number, "lines": [{"sku": "S", "quantity": "1", "unitPrice": "2"}]}
        response = self.http.post("/api/orders", json=body, headers=self.admin)
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    def job(self, job_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.http.get(f"/api/admin/sync-status/{job_id}", headers=self.admin).json()
        return result

    def close(self) -> None:
        self.http.close()
        _stop(self.proc)


@pytest.fixture
def api(settings: Settings) -> Iterator[Api]:
    server = Api(settings)
    yield server
    server.close()


def test_an_order_placed_over_http_is_delivered_by_the_worker_process_and_completed_by_callback(
    api: Api, agent: FakeAgent, settings: Settings
) -> None:
    api.register("vendor-1", agent)
    worker = _spawn(["-m", "restosync_worker", "--concurrency", "2"], _env(settings))
    try:
        placed = [api.place("vendor-1", f"E-{i}") for i in range(3)]
        for order in placed:
            wait_until(lambda o=order: api.job(o["syncJobId"])["job"]["status"] == "completed", 30, "completion")
        orders = [api.http.get(f"/api/orders/{o['id']}", headers=api.admin).json() for o in placed]
        assert all(o["status"] == "synced" and o["erpReference"] for o in orders)
        assert sorted(r.idempotency_key or "" for r in agent.orders_received()) == sorted(
            o["syncJobId"] for o in placed
        )
        assert agent.callback_errors == []
    finally:
        code = _stop(worker)
    assert code == 0, _output(worker)


def test_a_worker_killed_mid_call_leaves_the_job_to_another_worker_with_the_same_key(
    api: Api, agent: FakeAgent, settings: Settings
) -> None:
    api.register("vendor-1", agent)
    agent.hang()
    agent.callbacks_paused = True  # the call the killed worker made gets no callback
    slow = _env(settings, AGENT_TIMEOUT_SECONDS="3", ORDER_CLAIM_SECONDS="4")  # killed long before its timeout
    first = _spawn(["-m", "restosync_worker", "--concurrency", "1"], slow)
    job_id = api.place("vendor-1", "K-1")["syncJobId"]
    try:
        wait_until(lambda: len(agent.orders_received()) == 1, 30, "the first worker to call the agent")
        assert api.job(job_id)["job"]["status"] == "processing"
    finally:
        _stop(first, signal.SIGKILL)
    agent.accept()
    agent.callbacks_paused = False
    # Wait for the dead worker's claim to expire, so the next worker's start-up sweep finds the job due
    # now (a wake-up scheduled for later would wait for RQ's scheduler lock, which the dead worker
    # held: up to a minute).
    wait_until(lambda: _expired(api.job(job_id)["job"]["claimedUntil"]), 15, "the dead worker's claim to expire")
    second = _spawn(["-m", "restosync_worker", "--concurrency", "1"], _env(settings))
    try:
        wait_until(lambda: api.job(job_id)["job"]["status"] == "completed", 60, "another worker to deliver it")
    except AssertionError:
        _stop(second)
        raise AssertionError(f"{api.job(job_id)['job']}\n{_output(second)}") from None
    finally:
        _stop(second)
    keys = [r.idempotency_key for r in agent.orders_received()]
    assert keys == [job_id, job_id], "delivered again, with the same Idempotency-Key"
    assert len(agent.erp_orders) == 1, "the ERP holds one order"
    assert api.job(job_id)["job"]["attempts"] == 2


def test_the_scheduler_registers_its_cron_entries_once_and_stops_on_sigterm(settings: Settings) -> None:
    env = _env(settings)
    client = redis.Redis.from_url(settings.redis_url)
    key = f"{settings.redis_prefix}:rq-scheduler:scheduled_jobs"
    job_key = f"rq:job:{settings.redis_prefix}-cron-sweep-sync-jobs"
    for _ in range(2):  # a restart registers the same entries, not new ones
        client.delete(job_key)
        proc = _spawn(["-m", "restosync_worker.scheduler", "--interval", "1"], env)
        wait_until(lambda: client.exists(job_key) and client.zcard(key) >= len(CRON_ENTRIES), 30, "the cron entries")
        assert _stop(proc) == 0, _output(proc)
    ids = sorted(m.decode() for m in client.zrange(key, 0, -1))
    assert ids == sorted(f"{settings.redis_prefix}-cron-{e.name}" for e in CRON_ENTRIES)
    assert len(ids) == 7, "REQ-10's six tasks and the sweeper"
    client.close()
