"""The whole system under ``restosync run``, with a Redis server of its own and a fake agent.

``RedisServer`` runs ``redis-server`` on a free port (no persistence), so a test
can stop it and start a fresh, empty one: a real Redis restart. ``System`` runs
``restosync run`` in a session of its own, knows its processes, and places and
counts orders over HTTP.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import redis

from restosync_adapters.settings import Settings
from tests.e2e.conftest import free_port, wait_until
from tests.fake_agent import FakeAgent
from tests.integration.agent_helpers import agent_token

ROOT = Path(__file__).resolve().parents[2]
FAST = {
    "ENV": "test",
    "WORKER_CONCURRENCY": "2",
    "DB_POOL_SIZE": "2",
    "ORDER_RETRY_DELAYS_SECONDS": "1",
    "ORDER_CLAIM_SECONDS": "5",
    "AGENT_TIMEOUT_SECONDS": "2",
    "ORDER_CALLBACK_TIMEOUT_SECONDS": "30",
    "RATE_LIMITS_ENABLED": "false",
    "SWEEP_CRON": "*/10 * * * * * *",  # every 10 s (a leading seconds field)
    "LOG_LEVEL": "INFO",
}


def via_port(url: str, port: int) -> str:
    """``url`` with its host and port replaced by 127.0.0.1:``port`` (for a proxy)."""
    parts = urlsplit(url)
    userinfo = parts.netloc.rsplit("@", 1)
    host = f"127.0.0.1:{port}"
    netloc = f"{userinfo[0]}@{host}" if len(userinfo) == 2 else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))


class RedisServer:
    """A ``redis-server`` of the test's own on a free port, never saving anything."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> RedisServer:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url)
        wait_until(lambda: bool(client.ping()), 10, f"redis-server on port {self.port}")
        client.close()
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def alive(pid: int) -> bool:
    fields = _stat(pid)
    return fields is not None and fields[0] != "Z"


def descendants(pid: int, depth: int = 99) -> dict[int, str]:
    """Every live process below ``pid`` (down to ``depth`` generations): pid -> command line."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))) is not None and fields[0] != "Z":
            parents[int(entry.name)] = int(fields[1])
    found: dict[int, str] = {}
    frontier = [(pid, 0)]
    while frontier:
        parent, generation = frontier.pop()
        if generation == depth:
            continue
        for child, its_parent in parents.items():
            if its_parent == parent and child not in found:
                try:
                    found[child] = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode()
                except OSError:
                    continue
                frontier.append((child, generation + 1))
    return found


def register_over_http(http: httpx.Client, settings: Settings, vendor: str, agent: FakeAgent) -> str:
    """Register ``agent`` for ``vendor`` through the API ``http`` talks to, and point its callbacks there."""
    token = agent_token()
    response = http.post(
        "/api/agents/register",
        json={"vendorId": vendor, "agentUrl": agent.url, "authToken": token},
        headers={"Authorization": f"Bearer {settings.agent_secret}"},
    )
    assert response.status_code in (200, 201), response.text
    agent.trust(response.json()["outbound"])
    agent.callbacks_to(str(http.base_url).rstrip("/"), vendor, token)
    return token


@dataclass
class Placed:
    number: str
    status: int | None
    """The HTTP status, or None if the call itself failed (its outcome is unknown)."""
    sync_job_id: str | None = None


class System:
    """``restosync run`` (migrate, API, worker, scheduler) with its logs in a file."""

    def __init__(self, settings: Settings, *, database_url: str | None = None, redis_url: str, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.settings = settings
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url or settings.database_url,
            "REDIS_URL": redis_url,
            "REDIS_PREFIX": settings.redis_prefix,
            "API_SECRET": settings.api_secret,
            "AGENT_SECRET": settings.agent_secret,
            "PORT": str(self.port),
            **FAST,
            **env,
        }
        self.log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 (closed by close())
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "restosync_cli", "run"],
            cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        )
        self.http = httpx.Client(base_url=self.url, timeout=10.0)
        self.admin = {"X-API-Key": settings.api_secret}
        self.placed: list[Placed] = []
        self._enough = threading.Event()
        self._placer: threading.Thread | None = None

    # ------------------------------------------------------------------ processes
    def wait_healthy(self, seconds: float = 60) -> None:
        wait_until(lambda: self.http.get("/health").status_code == 200, seconds, "/health = 200")

    def processes(self) -> dict[int, str]:
        """``run``, its API, worker and scheduler, and the worker's processes; not RQ's scheduler
        processes one level further down (each worker forks one, and RQ starts another by itself)."""
        return {self.proc.pid: "restosync run", **descendants(self.proc.pid, depth=2)}

    def output(self) -> str:
        self.log.seek(0)
        text: str = self.log.read()
        return text

    def stop(self, timeout: float = 60) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def close(self) -> None:
        self.stop_placing()
        everything = descendants(self.proc.pid)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.stop()
        for pid in [self.proc.pid, *everything]:
            if alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        self.http.close()
        if keep := os.environ.get("RESTOSYNC_E2E_LOGS"):  # a directory to keep the run's logs in
            Path(keep, f"run-{self.proc.pid}.log").write_text(self.output())
        self.log.close()

    # ------------------------------------------------------------------ orders
    def register(self, vendor: str, agent: FakeAgent) -> None:
        register_over_http(self.http, self.settings, vendor, agent)

    def place(self, vendor: str, number: str) -> Placed:
        body = {"vendorId": vendor, "orderNumber": number, "lines": [{"sku": "S", "quantity": "1", "unitPrice": "2"}]}
        try:
            response = self.http.post("/api/orders", json=body, headers=self.admin)
        except httpx.HTTPError:
            placed = Placed(number, None)
        else:
            job = response.json().get("syncJobId") if response.status_code == 201 else None
            placed = Placed(number, response.status_code, job)
        self.placed.append(placed)
        return placed

    def start_placing(self, vendor: str, every_seconds: float = 0.2) -> None:
        """Place an order every ``every_seconds`` in a thread, until ``stop_placing()``."""
        self._enough.clear()

        def place_orders() -> None:
            n = 0
            while not self._enough.is_set():
                n += 1
                self.place(vendor, f"T-{n}")
                self._enough.wait(every_seconds)

        self._placer = threading.Thread(target=place_orders, daemon=True)
        self._placer.start()

    def stop_placing(self) -> None:
        self._enough.set()
        if self._placer is not None:
            self._placer.join(15)
            self._placer = None

    def accepted(self) -> dict[str, str]:
        """Order number -> sync job id, for every order answered 201."""
        return {p.number: p.sync_job_id for p in self.placed if p.status == 201 and p.sync_job_id}

    def statuses(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for p in self.placed:
            key = str(p.status) if p.status is not None else "no answer"
            counts[key] = counts.get(key, 0) + 1
        return counts


def delivered(agent: FakeAgent) -> dict[str, set[str]]:
    """Order number -> the Idempotency-Keys it was delivered under."""
    keys: dict[str, set[str]] = {}
    for request in agent.orders_received():
        number = str(request.body.get("orderNumber"))
        keys.setdefault(number, set()).add(request.idempotency_key or "")
    return keys
