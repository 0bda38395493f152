"""What the scenarios are built from: a Redis that can be stopped, a scratch database, the system, traffic."""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import redis

from restosync_adapters.settings import Settings
from tests.conftest import create_database, drop_database, make_settings
from tests.e2e.system import System, alive, descendants
from tests.fake_agent import FakeAgent
from tests.integration.agent_helpers import agent_token
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
LOCAL = "127.0.0.1"


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind((LOCAL, 0))
        port: int = probe.getsockname()[1]
        return port


def pause(seconds: float) -> None:
    """Hold a fault (or the traffic between two) this long: a duration of the scenario, not a wait for a state."""
    threading.Event().wait(seconds)


class ChaosRedis:
    """A ``redis-server`` of the scenario's own that can stop and come back with its data, or without it.

    ``stop(flush=False)``: ``SHUTDOWN SAVE`` (its data written to its own directory, loaded again
    by ``start()``), as a planned restart. ``stop(flush=True)``: killed, its file removed: it comes
    back empty, as a crash of a Redis without persistence.
    """

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://{LOCAL}:{self.port}/0"
        self.dir = tempfile.mkdtemp(prefix="restosync-chaos-redis-")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ChaosRedis:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", LOCAL, "--dir", self.dir,
             "--dbfilename", "dump.rdb", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url)
        try:
            wait_until(lambda: bool(client.ping()), 15, f"redis-server on port {self.port}",
                       ignoring=(redis.RedisError,))
        finally:
            client.close()
        return self

    def stop(self, *, flush: bool) -> None:
        if self.proc is None:
            return
        if flush:
            self.proc.kill()
        else:
            client = redis.Redis.from_url(self.url)
            with contextlib.suppress(redis.RedisError):
                client.shutdown(save=True)
            client.close()
        self.proc.wait(30)
        self.proc = None
        if flush:
            Path(self.dir, "dump.rdb").unlink(missing_ok=True)

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None
        shutil.rmtree(self.dir, ignore_errors=True)


@dataclass
class Database:
    """A scratch database on the local PostgreSQL, dropped at the end."""

    name: str = field(default_factory=lambda: f"restosync_chaos_{uuid.uuid4().hex[:10]}")
    url: str = ""

    def __post_init__(self) -> None:
        self.url = create_database(self.name)

    def query(self, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.url, autocommit=True) as conn:
            return conn.execute(statement, params).fetchall()  # type: ignore[arg-type]

    def drop(self) -> None:
        drop_database(self.name)


class Processes:
    """Every process a scenario started, and every one found below them: all stopped at the end."""

    def __init__(self) -> None:
        self.started: list[subprocess.Popen[bytes]] = []
        self.seen: set[int] = set()
        self.logs: list[Any] = []
        self._stop = threading.Event()
        self._watcher = threading.Thread(target=self._watch, daemon=True)
        self._watcher.start()

    def spawn(self, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close())
        self.logs.append(log)
        proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        self.started.append(proc)
        return proc

    def adopt(self, pid: int) -> None:
        self.seen.add(pid)

    def _watch(self) -> None:
        while not self._stop.wait(0.5):
            self.note()

    def note(self) -> None:
        """Remember every descendant of what was started (a killed worker's orphans included)."""
        for root in [*(p.pid for p in self.started), *list(self.seen)]:
            self.seen.update(descendants(root))

    def output(self) -> str:
        text = []
        for log in self.logs:
            log.seek(0)
            text.append(log.read().decode(errors="replace"))
        return "\n".join(text)

    def stop(self) -> int:
        """SIGTERM everything, then SIGKILL what is left after 40 s; answers how many had to be killed."""
        self.note()
        self._stop.set()
        for proc in self.started:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 40
        for proc in self.started:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(max(0.1, deadline - time.monotonic()))
        with contextlib.suppress(AssertionError):
            wait_until(lambda: not [p for p in self.seen if alive(p)], max(0.1, deadline - time.monotonic()),
                       "every process to stop")
        left = [pid for pid in {*self.seen, *(p.pid for p in self.started)} if alive(pid)]
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for proc in self.started:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5)
        for log in self.logs:
            log.close()
        return len(left)


def shell_env(world_settings: Settings, redis_url: str, database_url: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "ENV": "test",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "REDIS_PREFIX": world_settings.redis_prefix,
        "API_SECRET": world_settings.api_secret,
        "AGENT_SECRET": world_settings.agent_secret,
        "LOG_LEVEL": "INFO",
        "RATE_LIMITS_ENABLED": "false",
        **extra,
    }


@contextlib.contextmanager
def world(**env: str) -> Iterator[World]:
    """A scratch database, a Redis of its own, and (``World.run``) the system on them; all removed after."""
    database = Database()
    chaos_redis = ChaosRedis().start()
    w = World(database, chaos_redis, make_settings(database.url, f"chaos-{uuid.uuid4().hex[:8]}"), env)
    try:
        yield w
    finally:
        w.close()


@dataclass
class World:
    database: Database
    redis: ChaosRedis
    settings: Settings
    env: dict[str, str]
    system: System | None = None
    agents: list[FakeAgent] = field(default_factory=list)
    processes: Processes = field(default_factory=Processes)
    leftover: int = 0

    def run(self, *, database_url: str | None = None, **env: str) -> System:
        """``restosync run`` on this world (migrates first), healthy."""
        self.system = System(self.settings, database_url=database_url or self.database.url, redis_url=self.redis.url,
                             **{**self.env, **env})
        self.processes.adopt(self.system.proc.pid)
        self.system.wait_healthy(90)
        return self.system

    def migrate(self) -> None:
        subprocess.run([sys.executable, "-m", "restosync_cli", "migrate"], cwd=ROOT, check=True,
                       env=shell_env(self.settings, self.redis.url, self.database.url), capture_output=True)

    def agent(self, **options: Any) -> FakeAgent:
        agent = FakeAgent(**options).start()
        agent.callback_retry_seconds = 120.0
        self.agents.append(agent)
        return agent

    def register(self, vendor: str, agent: FakeAgent, http: httpx.Client | None = None) -> dict[str, str]:
        """Register ``agent`` for ``vendor``; it trusts the answer's credential and calls back. Its headers."""
        client = http or self.http()
        token = agent_token()
        response = client.post(
            "/api/agents/register", json={"vendorId": vendor, "agentUrl": agent.url, "authToken": token},
            headers={"Authorization": f"Bearer {self.settings.agent_secret}"},
        )
        assert response.status_code in (200, 201), response.text
        agent.trust(response.json()["outbound"])
        agent.callbacks_to(str(client.base_url).rstrip("/"), vendor, token)
        return {"Authorization": f"Bearer {token}", "X-Vendor-ID": vendor}

    def register_url(self, vendor: str, url: str) -> None:
        """Register an agent that is not a ``FakeAgent`` (it never checks what it is sent)."""
        response = self.http().post(
            "/api/agents/register", json={"vendorId": vendor, "agentUrl": url, "authToken": agent_token()},
            headers={"Authorization": f"Bearer {self.settings.agent_secret}"},
        )
        assert response.status_code in (200, 201), response.text

    def http(self) -> httpx.Client:
        assert self.system is not None
        return self.system.http

    @property
    def admin(self) -> dict[str, str]:
        return {"X-API-Key": self.settings.api_secret}

    def output(self) -> str:
        return (self.system.output() if self.system else "") + self.processes.output()

    def close(self) -> None:
        if self.system is not None:
            self.processes.note()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.system.stop(timeout=60)
            self.system.close()
        self.leftover = self.processes.stop()
        for agent in self.agents:
            agent.stop()
        self.redis.close()
        self.database.drop()


class Placer:
    """Places orders ``prefix-1 .. prefix-N`` over HTTP from ``threads`` threads, each until it is placed.

    An answer other than 201 or 409 (already placed: an earlier try went through), or no answer,
    is tried again after 0.2 s, for at most ``give_up_seconds``; the order is then ``unplaced``.
    """

    def __init__(self, url: str, admin: dict[str, str], vendor: str, count: int, *, prefix: str = "C",
                 threads: int = 8, give_up_seconds: float = 180.0) -> None:
        self.url, self.admin, self.vendor, self.count, self.prefix = url, admin, vendor, count, prefix
        self.threads, self.give_up_seconds = threads, give_up_seconds
        self.placed_at: dict[str, float] = {}
        self.unplaced: list[str] = []
        self.answers: dict[str, int] = {}
        self._lock = threading.Lock()
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._futures: list[concurrent.futures.Future[None]] = []
        self._local = threading.local()

    def numbers(self) -> list[str]:
        return [f"{self.prefix}-{n}" for n in range(1, self.count + 1)]

    def start(self, *, every_seconds: float = 0.0) -> Placer:
        self._pool = concurrent.futures.ThreadPoolExecutor(self.threads)
        self._every = every_seconds
        self._futures = [self._pool.submit(self._place, number) for number in self.numbers()]
        return self

    def _client(self) -> httpx.Client:
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = httpx.Client(base_url=self.url, timeout=10.0)
        return client

    def _count(self, answer: str) -> None:
        with self._lock:
            self.answers[answer] = self.answers.get(answer, 0) + 1

    def _place(self, number: str) -> None:
        body = {"vendorId": self.vendor, "orderNumber": number,
                "lines": [{"sku": "SKU-1", "quantity": "2", "unitPrice": "18.50"}]}
        give_up_at = time.monotonic() + self.give_up_seconds
        while time.monotonic() < give_up_at:
            try:
                status = self._client().post("/api/orders", json=body, headers=self.admin).status_code
            except httpx.HTTPError:
                status = 0
            self._count(str(status) if status else "no answer")
            if status in (201, 409):
                with self._lock:
                    self.placed_at[number] = time.monotonic()
                if self._every:
                    pause(self._every)
                return
            pause(0.2)
        with self._lock:
            self.unplaced.append(number)

    def wait(self) -> None:
        concurrent.futures.wait(self._futures)
        if self._pool is not None:
            self._pool.shutdown()

    def done(self) -> int:
        with self._lock:
            return len(self.placed_at) + len(self.unplaced)


def deliveries(agent: FakeAgent) -> dict[str, set[str]]:
    """Order number -> the Idempotency-Keys it reached the agent under (verified calls only)."""
    keys: dict[str, set[str]] = {}
    for request in agent.orders_received():
        keys.setdefault(str(request.body.get("orderNumber")), set()).add(request.idempotency_key or "")
    return keys


def first_delivery(agent: FakeAgent) -> dict[str, float]:
    """Order number -> when (monotonic) it first reached the agent."""
    first: dict[str, float] = {}
    offset = time.monotonic() - time.perf_counter()
    for request in agent.orders_received():
        number = str(request.body.get("orderNumber"))
        first.setdefault(number, request.at + offset)
    return first


def applied_callbacks(agent: FakeAgent) -> dict[str, int]:
    """Job id -> how many of its callbacks the API answered ``applied`` (the order completed by it)."""
    counts: dict[str, int] = {}
    for job_id, result in list(agent.callback_results):
        if result == "applied":
            counts[job_id] = counts.get(job_id, 0) + 1
    return counts


def eventually(check: Callable[[], bool], seconds: float) -> bool:
    """Whether ``check`` holds within ``seconds`` (polled every 0.25 s); a count, not an assertion."""
    try:
        wait_until(check, seconds, "a condition", every=0.25)
    except AssertionError:
        return False
    return True


@dataclass
class Outcome:
    """One scenario's line: its counts, and what was wrong with them."""

    name: str
    title: str
    counts: dict[str, object] = field(default_factory=dict)
    wrong: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def expect(self, what: str, ok: bool) -> None:
        if not ok:
            self.wrong.append(what)

    @property
    def passed(self) -> bool:
        return not self.wrong

    def line(self) -> str:
        counts = " ".join(f"{k}={v}" for k, v in self.counts.items())
        verdict = "PASS" if self.passed else "FAIL (" + "; ".join(self.wrong) + ")"
        return f"{self.name} {self.title}: {counts} -> {verdict} [{self.seconds:.0f} s]"
