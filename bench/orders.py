"""Orders bench: order -> agent latency and orders/s through the real worker, next to a bare RQ job.

Same run, same worker processes (``python -m restosync_worker``, non-forking), same
queue: first a bare no-op RQ job (its enqueue -> start time, and jobs/s), then
orders placed with the real use case and delivered over HTTP to the fake agent
(order placed -> agent received, and orders/s). Goals (issue 6):
p50 order -> agent <= 2 x p50 bare enqueue -> start + the fake agent's own time;
orders/s >= 0.5 x bare jobs/s. ``--fork`` also measures the bare job on RQ's
forking worker, for the record.

Environment: BENCH_SAMPLES (latency samples, default 60), BENCH_BURST (jobs and
orders in the throughput runs, default 400), BENCH_WORKERS (default 4).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import psycopg
import redis
from psycopg import sql

from bench import BENCH_DENIED_NETWORKS
from bench.scratch import remove_scratch
from restosync_adapters.bootstrap import Services, bootstrap
from restosync_adapters.outbound_signing import signed_headers
from restosync_adapters.postgres.migrate import migrate
from restosync_adapters.queues import ORDER_SYNC
from restosync_adapters.rq_queue import JsonJob, RqJobQueue, make_queue
from restosync_adapters.settings import Settings
from restosync_core.model.delivery import NewOrder, NewOrderLine
from restosync_core.model.ids import SyncJobId, VendorId
from restosync_core.use_cases.place_order import PlaceOrder
from tests.fake_agent import FakeAgent

ROOT = Path(__file__).resolve().parents[1]
ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://root@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
SAMPLES = int(os.environ.get("BENCH_SAMPLES", "60"))
BURST = int(os.environ.get("BENCH_BURST", "400"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "4"))
NOOP = "bench.jobs.noop"
WARMUP = 3 * WORKERS


class HeldWakeUps:
    """A JobQueue that keeps wake-ups back, so the bench can release a burst at once."""

    def __init__(self) -> None:
        self.wakes: list[tuple[SyncJobId, datetime]] = []

    async def wake_delivery(self, job_id: SyncJobId, due_at: datetime) -> bool:
        self.wakes.append((job_id, due_at))
        return True


@dataclass
class Figures:
    p50_ms: float
    p99_ms: float
    per_second: float
    cpu_ms: dict[str, float] | None = None
    """CPU per job during the burst (user + system, from /proc), by process kind."""

    def cpu_line(self) -> str:
        if not self.cpu_ms:
            return "n/a"
        parts = "  ".join(f"{kind} {ms:.2f}" for kind, ms in self.cpu_ms.items())
        return f"{sum(self.cpu_ms.values()):.2f} ms/job ({parts})"


_TICK = os.sysconf("SC_CLK_TCK")


def cpu_by_kind(workers_root: int | None) -> dict[str, float]:
    """CPU seconds so far of the workers (the pool and its children), Redis, PostgreSQL and this process."""
    totals = {"workers": 0.0, "redis": 0.0, "postgres": 0.0, "bench (fake agent, enqueue)": 0.0}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
            with open(f"/proc/{entry}/comm") as f:
                comm = f.read().strip()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        ppid, cpu = int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICK
        pid = int(entry)
        if workers_root is not None and workers_root in (pid, ppid):
            totals["workers"] += cpu
        elif comm.startswith("redis-server"):
            totals["redis"] += cpu
        elif comm.startswith("postgres"):
            totals["postgres"] += cpu
        elif pid == os.getpid():
            totals["bench (fake agent, enqueue)"] += cpu
    return totals


def cpu_per_job(before: dict[str, float], after: dict[str, float], jobs: int) -> dict[str, float]:
    return {kind: (after[kind] - before[kind]) * 1000 / jobs for kind in before}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def wait_for(check: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.002)
    raise RuntimeError(f"bench: timed out waiting for {what}")


class Bench:
    def __init__(self) -> None:
        run = uuid.uuid4().hex[:8]
        self.dbname = f"restosync_bench_orders_{run}"
        self.prefix = f"restosync-bench-{run}"
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.dbname)))
        self.db_url = ADMIN_URL.rsplit("/", 1)[0] + f"/{self.dbname}"
        migrate(self.db_url)
        self.env = {
            "ENV": "production", "AGENT_URL_DENIED_NETWORKS": BENCH_DENIED_NETWORKS,
            "DATABASE_URL": self.db_url, "REDIS_URL": REDIS_URL, "REDIS_PREFIX": self.prefix,
            "AGENT_SECRET": "bench-agent-secret-0123456789", "API_SECRET": "bench-api-secret-0123456789-0123456789",
            "LOG_LEVEL": "WARNING", "DB_POOL_SIZE": "4", "RATE_LIMITS_ENABLED": "false",
            "ORDER_CALLBACK_TIMEOUT_SECONDS": "3600",
        }
        self.settings = Settings.from_env(self.env)
        self.redis = redis.Redis.from_url(REDIS_URL)
        self.queue = make_queue(self.redis, self.prefix, ORDER_SYNC)
        self.agent = FakeAgent().start()
        self.credential = self.agent.endpoint().credential  # what the workers' calls must carry
        self.worker: subprocess.Popen[bytes] | None = None
        with psycopg.connect(self.db_url, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO agent_registry (vendor_id, agent_url, auth_token_hash, outbound_token, signing_secret) "
                "VALUES ('bench', %s, 'x', %s, %s)",
                (self.agent.url, self.credential.token, self.credential.signing_secret),
            )

    def start_workers(self, *, fork: bool = False) -> None:
        shell = "bench.forking_worker" if fork else "restosync_worker"
        args = [sys.executable, "-m", shell, "--concurrency", str(WORKERS)]
        self.worker = subprocess.Popen(
            args, cwd=ROOT, env={**os.environ, **self.env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        probe = self.queue.enqueue(NOOP, result_ttl=60)  # ready once a worker ran something
        wait_for(lambda: JsonJob.fetch(probe.id, connection=self.redis).get_status() == "finished", 60, "workers")

    def stop_workers(self) -> None:
        if self.worker is not None:
            os.killpg(self.worker.pid, 15)
            self.worker.wait(timeout=60)
            self.worker = None

    # ------------------------------------------------------------------ the bare RQ job
    def bare(self) -> Figures:
        latencies = []
        for i in range(-WARMUP, SAMPLES):
            job = self.queue.enqueue(NOOP, result_ttl=600)
            wait_for(lambda j=job: self.redis.hget(j.key, "status") == b"finished", 30, "a no-op job")
            job.refresh()
            assert job.started_at is not None and job.enqueued_at is not None
            if i >= 0:
                latencies.append((job.started_at - job.enqueued_at).total_seconds() * 1000)
        cpu_before = cpu_by_kind(self._workers_root())
        jobs = [self.queue.enqueue(NOOP, result_ttl=600) for _ in range(BURST)]
        last = jobs[-1]
        wait_for(
            lambda: all(self.redis.hget(j.key, "status") == b"finished" for j in (last, *jobs[::50])), 120, "the burst"
        )
        wait_for(lambda: self.queue.count == 0 and self._running() == 0, 120, "the burst to drain")
        cpu = cpu_per_job(cpu_before, cpu_by_kind(self._workers_root()), BURST)
        ended = max(JsonJob.fetch(j.id, connection=self.redis).ended_at for j in jobs)  # type: ignore[type-var]
        elapsed = (ended.replace(tzinfo=UTC).timestamp() - self._epoch_of(jobs[0])) or 1e-9
        return Figures(pct(latencies, 0.5), pct(latencies, 0.99), BURST / elapsed, cpu)

    def _workers_root(self) -> int | None:
        return self.worker.pid if self.worker is not None else None

    def _running(self) -> int:
        return int(self.queue.started_job_registry.count)

    def _epoch_of(self, job: Any) -> float:
        job.refresh()
        return float(job.enqueued_at.replace(tzinfo=UTC).timestamp())

    # ------------------------------------------------------------------ orders through the real worker
    async def orders(self, services: Services) -> tuple[Figures, float, float]:
        """Latency: the order placed (committed, worker woken: what the API answers after) -> the
        agent has it. Throughput: BURST orders placed first, their wake-ups then queued in one go
        (as the bare jobs are), until the agent has the last one."""
        place = services.place_order
        received = 0
        latencies, with_placing = [], []
        for i in range(-WARMUP, SAMPLES):  # the first few warm each worker's connections up
            t0 = time.perf_counter()
            await place(self._order(f"L-{i}"))
            placed = time.perf_counter()
            received += 1
            while self.agent.order_count < received:  # noqa: ASYNC110 (a tight poll, on purpose)
                await asyncio.sleep(0.0005)
            at = self.agent.orders_received()[received - 1].at
            if i >= 0:
                latencies.append((at - placed) * 1000)
                with_placing.append((at - t0) * 1000)
        held = HeldWakeUps()
        policy = services.place_order.policy
        place_held = PlaceOrder(services.uow, held, services.clock, policy)
        for n in range(BURST):
            await place_held(self._order(f"T-{n}"))
        queue = services.queue
        assert isinstance(queue, RqJobQueue)
        cpu_before = cpu_by_kind(self._workers_root())
        t0 = time.perf_counter()
        for job_id, due in held.wakes:
            queue.wake_delivery_now(job_id, due)
        while self.agent.order_count < received + BURST:  # noqa: ASYNC110
            await asyncio.sleep(0.002)
        elapsed = self.agent.orders_received()[-1].at - t0
        await asyncio.sleep(0.2)  # the last deliveries' outcome writes
        cpu = cpu_per_job(cpu_before, cpu_by_kind(self._workers_root()), BURST)
        figures = Figures(pct(latencies, 0.5), pct(latencies, 0.99), BURST / elapsed, cpu)
        return figures, pct(with_placing, 0.5), await self.agent_own_ms()

    async def agent_own_ms(self) -> float:
        """The fake agent's own share: an HTTP POST from here until its handler has the request."""
        samples = []
        async with httpx.AsyncClient() as client:
            for i in range(-5, SAMPLES):
                before = len(self.agent.requests)
                t0 = time.perf_counter()
                body = json.dumps({"n": i}).encode()
                await client.post(f"{self.agent.url}/ping", content=body,
                                  headers=signed_headers(self.credential, body))  # signed, as the workers' calls
                if i >= 0:
                    samples.append((self.agent.requests[before].at - t0) * 1000)
        return pct(samples, 0.5)

    def _order(self, number: str) -> NewOrder:
        return NewOrder(VendorId("bench"), number, (NewOrderLine("SKU-1", Decimal("2"), Decimal("18.50")),))

    def close(self) -> None:
        self.stop_workers()
        self.agent.stop()
        self.redis.close()
        remove_scratch(ADMIN_URL, REDIS_URL, self.dbname, self.prefix)


async def _orders(bench: Bench) -> tuple[Figures, float, float]:
    services = bootstrap(bench.settings, pool_size=8)
    await services.start()
    try:
        return await bench.orders(services)
    finally:
        await services.stop()


def run(argv: list[str] | None = None) -> bool:
    fork = "--fork" in (argv if argv is not None else sys.argv[1:])
    print(f"   {WORKERS} non-forking worker processes; {SAMPLES} latency samples, bursts of {BURST}; 2 shared cores")
    bench = Bench()
    try:
        bench.start_workers()
        bare = bench.bare()
        orders, with_placing_ms, agent_ms = asyncio.run(_orders(bench))
        bench.stop_workers()
        forked = None
        if fork:
            bench.start_workers(fork=True)
            forked = bench.bare()
    finally:
        bench.close()
    latency_goal = 2 * bare.p50_ms + agent_ms
    throughput_goal = 0.5 * bare.per_second
    latency_ok = orders.p50_ms <= latency_goal
    throughput_ok = orders.per_second >= throughput_goal
    print(f"   bare RQ no-op job   enqueue->start p50 {bare.p50_ms:7.2f} ms  p99 {bare.p99_ms:7.2f} ms"
          f"   {bare.per_second:7.0f} jobs/s")
    print(f"   order -> agent      placed->received p50 {orders.p50_ms:7.2f} ms  p99 {orders.p99_ms:7.2f} ms"
          f"   {orders.per_second:7.0f} orders/s")
    print(f"   (counting the placing transaction too: p50 {with_placing_ms:.2f} ms)")
    print(f"   CPU per bare job during its burst: {bare.cpu_line()}")
    print(f"   CPU per order during its burst:    {orders.cpu_line()}")
    print(f"   p50 latency  {orders.p50_ms:.2f} ms <= {latency_goal:.2f} ms (2 x bare + agent {agent_ms:.2f} ms): "
          f"{'MET' if latency_ok else 'NOT MET'}")
    print(f"   throughput   {orders.per_second:.0f}/s >= {throughput_goal:.0f}/s (0.5 x bare): "
          f"{'MET' if throughput_ok else 'NOT MET'}")
    if forked is not None:
        print(f"   (forking worker, bare no-op: p50 {forked.p50_ms:.2f} ms, {forked.per_second:.0f} jobs/s"
              f" = {bare.per_second / forked.per_second:.1f}x fewer than non-forking)")
    return latency_ok and throughput_ok


if __name__ == "__main__":
    raise SystemExit(0 if run() else 1)
