"""The fault scenarios R1-R6 of issue 13, each counting its outcomes (docs/reliability.md says what each proves).

Every scenario takes a ``Scale``: ``FULL`` for ``make chaos``, ``SMOKE`` (a few hundred
orders, one fault) for the smoke test ``make test`` runs.
"""

from __future__ import annotations

import itertools
import os
import random
import signal
import socket
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx

from tests.chaos.harness import (
    LOCAL,
    Outcome,
    Placer,
    World,
    applied_callbacks,
    deliveries,
    eventually,
    first_delivery,
    pause,
    shell_env,
    world,
)
from tests.e2e.system import descendants, via_port
from tests.erp_simulator import BASE_TIME, item_json, make_item
from tests.tcp_proxy import TcpProxy

VENDOR = "vendor-1"


@dataclass(frozen=True)
class Scale:
    orders: int
    faults: int
    flushed_at: int
    """Which of the faults (0-based) of R1 loses Redis' data."""
    outage_seconds: float


FULL = Scale(orders=2000, faults=5, flushed_at=2, outage_seconds=3.0)
SMOKE = Scale(orders=300, faults=1, flushed_at=0, outage_seconds=2.0)

ORDER_ENV = {
    "WORKER_CONCURRENCY": "2",
    "AGENT_TIMEOUT_SECONDS": "2",
    "ORDER_CLAIM_SECONDS": "5",
    "ORDER_RETRY_DELAYS_SECONDS": "1",
    "ORDER_MAX_ATTEMPTS": "50",
    "SWEEP_CRON": "*/5 * * * * * *",
    "BREAKER_VOLUME_THRESHOLD": "1000",  # R1-R2 are about Redis and workers: the breaker stays out of them
    "DB_POOL_SIZE": "4",
}
SWEEP_PERIOD_SECONDS = 10.0
"""The sweeper runs every 5 s, on a scheduler that polls every 10 s: a due job waits at most about 10 s."""


def _order_counts(w: World, out: Outcome, placer: Placer, agent_index: int = 0) -> dict[str, set[str]]:
    """The counts R1 and R2 share: placed, delivered, lost, keys, completions."""
    agent = w.agents[agent_index]
    numbers = placer.numbers()
    jobs = dict(w.database.query(
        "SELECT o.order_number, j.id::text FROM orders o JOIN sync_jobs j ON j.order_id = o.id WHERE o.vendor_id = %s",
        (VENDOR,),
    ))

    def settled() -> bool:
        synced = w.database.query("SELECT count(*) FROM orders WHERE vendor_id = %s AND status = 'synced'",
                                  (VENDOR,))[0][0]
        return len(deliveries(agent)) >= len(jobs) and synced >= len(jobs)

    eventually(settled, 120)
    by_order = deliveries(agent)
    applied = applied_callbacks(agent)
    synced = w.database.query("SELECT count(*) FROM orders WHERE vendor_id = %s AND status = 'synced'", (VENDOR,))[0][0]
    lost = [n for n in numbers if n in jobs and n not in by_order]
    out.counts.update(
        orders=len(numbers),
        placed=len(jobs),
        unplaced=len(placer.unplaced),
        delivered=len(by_order),
        lost=len(lost),
        dup_keys=sum(1 for keys in by_order.values() if len(keys) > 1),
        wrong_key=sum(1 for n, keys in by_order.items() if jobs.get(n) not in keys),
        redelivered=len(agent.orders_received()) - len(by_order),
        erp_orders=len(agent.erp_orders),
        completed=synced,
        completed_twice=sum(1 for c in applied.values() if c > 1),
        callback_errors=len(agent.callback_errors),
        rejected_calls=len(agent.rejections),
    )
    out.expect("every order placed", len(jobs) == len(numbers) and not placer.unplaced)
    out.expect("every order delivered (0 lost)", not lost and len(by_order) == len(jobs))
    out.expect("0 delivered twice with different keys", out.counts["dup_keys"] == 0 and out.counts["wrong_key"] == 0)
    out.expect("one ERP order per order", len(agent.erp_orders) == len(jobs))
    out.expect("every order completed", synced == len(jobs))
    out.expect("0 completed twice", out.counts["completed_twice"] == 0 and len(applied) == len(jobs))
    out.expect("every call verified", not agent.rejections)
    out.counts["answers"] = ",".join(f"{k}:{v}" for k, v in sorted(placer.answers.items()))
    return by_order


def _wait_for_share(placer: Placer, share: float, seconds: float = 180) -> None:
    eventually(lambda: placer.done() >= share * placer.count, seconds)


def r1(scale: Scale = FULL) -> Outcome:
    out = Outcome("R1", f"{scale.orders} orders, Redis stopped and restarted x{scale.faults} "
                        f"(#{scale.flushed_at + 1} flushed)")
    with world(**ORDER_ENV) as w:
        system = w.run()
        agent = w.agent()
        w.register(VENDOR, agent)
        placer = Placer(system.url, w.admin, VENDOR, scale.orders).start()
        for fault in range(scale.faults):
            _wait_for_share(placer, (fault + 1) / (scale.faults + 1))
            w.redis.stop(flush=fault == scale.flushed_at)
            pause(scale.outage_seconds)
            w.redis.start()
        placer.wait()
        _order_counts(w, out, placer)
        out.counts["restarts"] = scale.faults
    out.counts["processes_left"] = w.leftover
    out.expect("every process stopped", w.leftover == 0)
    return out


def _worker_processes(w: World) -> list[int]:
    """The order workers' own processes (forked by the worker shell), the ones that call agents."""
    assert w.system is not None
    shells = [pid for pid, cmd in descendants(w.system.proc.pid, depth=1).items()
              if "restosync_worker.__main__" in cmd and "order-sync" in cmd]
    return [pid for shell in shells for pid in descendants(shell, depth=1)]


def r2(scale: Scale = FULL) -> Outcome:
    claim = float(ORDER_ENV["ORDER_CLAIM_SECONDS"])
    bound = claim + SWEEP_PERIOD_SECONDS + 5.0  # + a process restart and a loaded machine's margin
    out = Outcome("R2", f"{scale.orders} orders, a worker SIGKILLed mid-call x{scale.faults}")
    rng = random.Random(2)
    with world(**ORDER_ENV) as w:
        system = w.run()
        agent = w.agent(answer_delay=0.05)
        w.register(VENDOR, agent)
        # About 20 orders a second, below what one worker process delivers: a late order is late
        # because of a kill, not because of a backlog that any burst would build.
        placer = Placer(system.url, w.admin, VENDOR, scale.orders, threads=4).start(every_seconds=0.2)
        kills, mid_call = [], 0
        for fault in range(scale.faults):
            _wait_for_share(placer, (fault + 1) / (scale.faults + 1))
            # Hold the agent's answers until every worker process is in a call, then kill one of them.
            victims = _worker_processes(w)
            held = agent.order_count + len(victims)
            agent.hang()
            in_call = eventually(lambda n=held: agent.order_count >= n, 1.5)
            if victims:
                os.kill(rng.choice(victims), signal.SIGKILL)
                kills.append(time.monotonic())
                mid_call += in_call
            agent.accept()
        placer.wait()
        by_order = _order_counts(w, out, placer)
        first = first_delivery(agent)
        late = [first[n] - placer.placed_at[n] for n in by_order if n in placer.placed_at and n in first]
        out.counts["kills"] = len(kills)
        out.counts["mid_call"] = mid_call
        out.counts["median_s"] = round(sorted(late)[len(late) // 2], 2) if late else 0.0
        out.counts["slowest_s"] = round(max(late, default=0.0), 1)
        out.counts["bound_s"] = bound
        out.expect(f"{scale.faults} workers killed, each in a call", len(kills) == scale.faults == mid_call)
        out.expect("every order delivered within the claim time plus one sweep period",
                   max(late, default=0.0) <= bound)
    out.counts["processes_left"] = w.leftover
    out.expect("every process stopped", w.leftover == 0)
    return out




# ---------------------------------------------------------------- R3: PostgreSQL restarts during batch pushes

R3_BATCHES, R3_BATCH_ROWS = 4, 2500
"""Four batches of 2500 items (three chunks each: one transaction per push), pushed again every round."""
R3_MAPPINGS = [{"vendorId": VENDOR, "mappingType": "unit", "erpCode": "KG", "restoCode": "kg"},
               {"vendorId": VENDOR, "mappingType": "vat", "erpCode": "TVA20", "restoCode": "vat-20"}]


def r3(scale: Scale = FULL) -> Outcome:
    restarts = min(scale.faults, 3)
    out = Outcome("R3", f"PostgreSQL restarted x{restarts} during batch pushes "
                        f"({R3_BATCHES} batches of {R3_BATCH_ROWS} items, each push one transaction)")
    with world(**ORDER_ENV) as w:
        proxy = TcpProxy(LOCAL, 5432).start()
        try:
            w.migrate()
            system = w.run(database_url=via_port(w.database.url, proxy.port))
            seeded = system.http.post("/api/admin/mappings/seed", headers=w.admin, json={"mappings": R3_MAPPINGS})
            assert seeded.status_code in (200, 201), seeded.text
            agent = w.agent()
            headers = w.register(VENDOR, agent)
            pushes = _BatchPushes(w, system.url, headers)
            pushes.start()
            for _ in range(restarts):
                pause(4.0)
                proxy.stop()
                pause(scale.outage_seconds)
                proxy.start()
            pause(4.0)
            pushes.stop()
            converged = eventually(lambda: pushes.mismatches() == 0, 30)
        finally:
            proxy.stop()
        out.counts.update(
            restarts=restarts, pushes=pushes.pushes, applied=pushes.full_200, answered_5xx=pushes.failed_5xx,
            applied_before_5xx=pushes.full_5xx, partial=pushes.partial, other_answers=pushes.other,
            no_answer=pushes.no_answer, retried=pushes.retried, rows_differing_from_erp=pushes.mismatches(),
            answers=",".join(f"{k}:{v}" for k, v in sorted(pushes.answers.items())),
        )
        out.expect("0 partial batches", pushes.partial == 0)
        out.expect("every push fully applied or answered 5xx", pushes.other == 0 and pushes.no_answer == 0)
        out.expect("a 200 means the whole batch is stored", pushes.short_200 == 0)
        out.expect("the faults were felt (some pushes answered 5xx)", pushes.failed_5xx > 0)
        out.expect("the retries converge to the ERP's data", converged)
    out.counts["processes_left"] = w.leftover
    out.expect("every process stopped", w.leftover == 0)
    return out


class _BatchPushes:
    """The agent's side of R3: rounds of price changes, every batch pushed until it is answered 200.

    After each answer the batch's rows are read straight from PostgreSQL (not through the proxy):
    they hold this round's price in all of the batch's rows (applied) or in none (not applied);
    anything between is a partial batch.
    """

    def __init__(self, w: World, url: str, headers: dict[str, str]) -> None:
        self.w, self.url, self.headers = w, url, headers
        self.skus = [[f"B{b}-{n:05d}" for n in range(R3_BATCH_ROWS)] for b in range(R3_BATCHES)]
        self.erp: dict[str, Decimal] = {}
        self.pushes = self.full_200 = self.short_200 = self.failed_5xx = self.full_5xx = 0
        self.partial = self.other = self.no_answer = self.retried = 0
        self.answers: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._push_batches, args=(b,), daemon=True) for b in (0, 1)]

    def start(self) -> None:
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(180)

    def _push_batches(self, first: int) -> None:
        http = httpx.Client(base_url=self.url, timeout=60.0)
        batches = range(first, R3_BATCHES, 2)
        round_ = 0
        try:
            while not self._stop.is_set():
                round_ += 1
                for b in batches:
                    self._push_until_stored(http, b, round_)
        finally:
            http.close()

    def _push_until_stored(self, http: httpx.Client, batch: int, round_: int) -> None:
        price = Decimal(f"{round_}.{batch:02d}")
        at = BASE_TIME + timedelta(minutes=round_)
        body = {"items": [item_json(make_item(sku, price=price, updated_at=at)) for sku in self.skus[batch]]}
        give_up_at = time.monotonic() + 120
        tries = 0
        while time.monotonic() < give_up_at:
            tries += 1
            try:
                response = http.post("/api/sync/items/batch", json=body, headers=self.headers)
                status = response.status_code
            except httpx.HTTPError:
                status = 0
            stored = self.w.database.query(
                "SELECT count(*) FILTER (WHERE price = %s), count(*) FROM items WHERE vendor_id = %s AND sku = ANY(%s)",
                (price, VENDOR, self.skus[batch]),
            )[0][0]
            with self._lock:
                self.pushes += 1
                self.answers[str(status or "none")] = self.answers.get(str(status or "none"), 0) + 1
                self.retried += tries > 1
                if 0 < stored < R3_BATCH_ROWS:
                    self.partial += 1
                if status == 200:
                    self.full_200 += stored == R3_BATCH_ROWS
                    self.short_200 += stored != R3_BATCH_ROWS or response.json().get("failed", 1) != 0
                elif status >= 500:
                    self.failed_5xx += 1
                    self.full_5xx += stored == R3_BATCH_ROWS
                elif status == 0:
                    self.no_answer += 1
                else:
                    self.other += 1
            if status == 200:
                with self._lock:
                    self.erp.update(dict.fromkeys(self.skus[batch], price))
                return
            pause(0.5)

    def mismatches(self) -> int:
        stored = dict(self.w.database.query("SELECT sku, price FROM items WHERE vendor_id = %s", (VENDOR,)))
        with self._lock:
            return sum(1 for sku, price in self.erp.items() if stored.get(sku) != price)


# ---------------------------------------------------------------- R4: an agent that fails every call

R4_ENV = {**ORDER_ENV, "ORDER_RETRY_DELAYS_SECONDS": "1,2,4", "ORDER_MAX_ATTEMPTS": "4",
          "BREAKER_VOLUME_THRESHOLD": "5", "BREAKER_WINDOW_SECONDS": "10", "BREAKER_RESET_TIMEOUT_SECONDS": "3",
          "BREAKER_ERROR_THRESHOLD_PERCENT": "50"}
R4_SLACK_SECONDS = 2.5
"""A retry is due at its delay; RQ's scheduler looks for due jobs every second, in whole seconds, then a
worker takes it: up to about 2 s later."""


def r4(scale: Scale = FULL) -> Outcome:
    delays = [1.0, 2.0, 4.0]
    reset = float(R4_ENV["BREAKER_RESET_TIMEOUT_SECONDS"])
    out = Outcome("R4", f"an agent failing every call: retries {','.join(f'{d:g}' for d in delays)} s then a "
                        f"dead letter; with the breaker open, one probe per {reset:g} s")
    with world(**R4_ENV) as w:
        system = w.run()
        # The schedule: one order, fewer calls than the breaker's volume threshold (it stays closed).
        failing = w.agent()
        failing.fail_with(503)
        w.register("vendor-retry", failing)
        placed = system.http.post("/api/orders", headers=w.admin, json={
            "vendorId": "vendor-retry", "orderNumber": "R4-1",
            "lines": [{"sku": "SKU-1", "quantity": "1", "unitPrice": "2"}]})
        assert placed.status_code == 201, placed.text
        job_id = placed.json()["syncJobId"]
        dead = eventually(lambda: w.database.query(
            "SELECT count(*) FROM dead_letter_queue WHERE sync_job_id = %s", (job_id,))[0][0] == 1, 60)
        pause(max(delays) + R4_SLACK_SECONDS)  # and nothing after it
        calls = [r.at for r in failing.orders_received()]
        gaps = [round(b - a, 2) for a, b in itertools.pairwise(calls)]
        off = [g for g, d in zip(gaps, delays, strict=False) if not d - 0.05 <= g <= d + R4_SLACK_SECONDS]
        status, attempts = w.database.query("SELECT status::text, attempts FROM sync_jobs WHERE id = %s", (job_id,))[0]
        out.counts.update(calls=len(calls), gaps_s="/".join(f"{g:g}" for g in gaps), off_schedule=len(off),
                          dead_letters=int(dead), job=f"{status}({attempts})")
        out.expect("exactly 4 calls, at the retry delays", len(calls) == len(delays) + 1 and not off)
        out.expect("then a dead letter", dead and status == "failed" and attempts == len(delays) + 1)

        # The breaker: many orders to an agent failing every call.
        broken = w.agent()
        broken.fail_with(503)
        w.register("vendor-breaker", broken)
        for n in range(20):
            system.http.post("/api/orders", headers=w.admin, json={
                "vendorId": "vendor-breaker", "orderNumber": f"R4-B-{n}",
                "lines": [{"sku": "SKU-1", "quantity": "1", "unitPrice": "2"}]})

        def breaker_state() -> str:
            rows = system.http.get("/api/admin/circuit-breaker/status", headers=w.admin).json()
            return next((r["state"] for r in rows if r["vendorId"] == "vendor-breaker"), "closed")

        opened = eventually(lambda: breaker_state() == "open", 30)
        since = time.perf_counter()
        watch = 4 * reset
        pause(watch)
        probes = sorted(r.at for r in broken.orders_received() if r.at > since)
        close = [b - a for a, b in itertools.pairwise(probes) if b - a < reset * 0.9]
        out.counts.update(breaker_opened=opened, watched_s=watch, calls_while_open=len(probes),
                          allowed=int(watch // reset) + 1, closer_than_reset=len(close))
        out.expect("the breaker opened", opened)
        out.expect("at most one probe per reset period while open",
                   len(probes) <= int(watch // reset) + 1 and not close)
    out.counts["processes_left"] = w.leftover
    out.expect("every process stopped", w.leftover == 0)
    return out


# ---------------------------------------------------------------- R5: two schedulers, three workers

R5_TASKS = {"SWEEP_CRON": "sweep-sync-jobs", "AGENT_HEALTH_CRON": "check-agent-health",
            "DLQ_ALERT_CRON": "alert-dead-letters", "DRIFT_DETECTION_CRON": "detect-drift"}
R5_EVERY_SECONDS = 5


def r5(scale: Scale = FULL) -> Outcome:
    seconds = 60.0 if scale is FULL else 25.0
    out = Outcome("R5", f"two schedulers and three workers for {seconds:g} s, every cron task every "
                        f"{R5_EVERY_SECONDS} s")
    crons = dict.fromkeys(R5_TASKS, f"*/{R5_EVERY_SECONDS} * * * * * *")
    with world(**ORDER_ENV) as w:
        w.migrate()
        env = shell_env(w.settings, w.redis.url, w.database.url, **{**ORDER_ENV, **crons})
        for _ in range(2):
            w.processes.spawn(["-m", "restosync_cli", "scheduler", "--interval", "1"], env)
        for _ in range(3):
            w.processes.spawn(["-m", "restosync_cli", "worker", "--concurrency", "1"], env)
        began = datetime.now(UTC)
        pause(seconds)
        ended = datetime.now(UTC)
        pause(3.0)  # the last tick's runs finish
        rows = w.database.query("SELECT task, tick, status FROM task_runs")
        names = set(R5_TASKS.values())
        known = {t for t, _, _ in rows}
        out.expect("the schedule names these tasks", names <= known or not rows)
        # Ticks fully inside the window (after the processes had 10 s to start) must each have one run.
        first = began + timedelta(seconds=10)
        expected = [first + timedelta(seconds=k) for k in range(int((ended - first).total_seconds()))
                    if (first + timedelta(seconds=k)).replace(microsecond=0).second % R5_EVERY_SECONDS == 0]
        expected = [t.replace(microsecond=0) for t in expected]
        runs = {(t, tick) for t, tick, _ in rows}
        missing = sum(1 for name in names for tick in expected if (name, tick) not in runs)
        failed = sum(1 for _, _, status in rows if status != "done")
        output = w.processes.output()
        done_lines = {name: output.count(f'"cron task {name} done') for name in names}
        rows_by_task = {name: sum(1 for t, _, _ in rows if t == name) for name in names}
        extra = sum(done_lines[n] - rows_by_task[n] for n in names if n != "sweep-sync-jobs")
        duplicates_refused = output.count("already ran for its tick")
        out.counts.update(
            schedulers=2, workers=3, ticks=len(expected), tasks=len(names), runs=len(rows),
            missing=missing, failed=failed, run_twice=extra, duplicates_refused=duplicates_refused,
        )
        enough = len(expected) >= int((seconds - 12) / R5_EVERY_SECONDS)
        out.expect("every task ran at every tick", missing == 0 and enough)
        out.expect("no task ran twice for a tick", extra == 0)
        out.expect("no run failed", failed == 0)
    out.counts["processes_left"] = w.leftover
    out.expect("every process stopped", w.leftover == 0)
    return out


# ---------------------------------------------------------------- R6: hanging and trickling agents, slow clients

R6_ENV = {**ORDER_ENV, "BREAKER_VOLUME_THRESHOLD": "5", "BREAKER_RESET_TIMEOUT_SECONDS": "10",
          "HTTP_HEADERS_TIMEOUT_SECONDS": "5", "HTTP_BODY_TIMEOUT_SECONDS": "5"}
R6_SLOW_CLIENTS = 200
R6_BAD_VENDORS = 2
R6_OK_BOUND_SECONDS = (
    R6_BAD_VENDORS * int(R6_ENV["BREAKER_VOLUME_THRESHOLD"]) * float(R6_ENV["AGENT_TIMEOUT_SECONDS"])
    / int(R6_ENV["WORKER_CONCURRENCY"]) + 5.0
)
"""A healthy vendor's order reaches its agent within this, whatever the other two agents do: until their
breakers open (after BREAKER_VOLUME_THRESHOLD calls that each take AGENT_TIMEOUT_SECONDS), the bad agents
hold workers; after that they are not called (one probe per reset period). Plus 5 s of margin."""


def r6(scale: Scale = FULL) -> Outcome:
    orders = 100 if scale is FULL else 30
    out = Outcome("R6", f"an agent that hangs and one answering 1 byte/s, {orders} orders each, beside a healthy "
                        f"one; {R6_SLOW_CLIENTS} slow clients on the API")
    hanging, trickling = SilentAgent(rate=0.0).start(), SilentAgent(rate=1.0).start()
    try:
        with world(**R6_ENV) as w:
            system = w.run()
            healthy = w.agent()
            agent_headers = w.register("vendor-ok", healthy)
            for vendor, url in (("vendor-hang", hanging.url), ("vendor-slow", trickling.url)):
                w.register_url(vendor, url)
            placers = [Placer(system.url, w.admin, vendor, orders, prefix=vendor, threads=2).start(every_seconds=0.1)
                       for vendor in ("vendor-hang", "vendor-slow", "vendor-ok")]
            for placer in placers:
                placer.wait()
            ok = placers[2]
            delivered_ok = eventually(lambda: len(deliveries(healthy)) >= orders, 60)
            first = first_delivery(healthy)
            late = [first[n] - ok.placed_at[n] for n in ok.numbers() if n in first and n in ok.placed_at]
            out.counts.update(
                ok_delivered=len(deliveries(healthy)), ok_slowest_s=round(max(late, default=0.0), 1),
                ok_bound_s=R6_OK_BOUND_SECONDS,
                hang_calls=hanging.connections, slow_calls=trickling.connections,
            )
            out.expect("every order of the healthy vendor delivered", delivered_ok)
            out.expect(f"each within {R6_OK_BOUND_SECONDS:g} s", max(late, default=99.0) <= R6_OK_BOUND_SECONDS)
            out.expect("the bad agents were called", hanging.connections > 0 and trickling.connections > 0)

            # The API, while 200 clients trickle their headers at it.
            slow = SlowClients(system.port, R6_SLOW_CLIENTS).start()
            answered, latencies = 0, []
            with httpx.Client(base_url=system.url, timeout=10.0) as http:
                began = time.monotonic()
                while time.monotonic() - began < 12:
                    t0 = time.monotonic()
                    try:
                        status = http.post("/api/agents/heartbeat", headers=agent_headers).status_code
                    except httpx.HTTPError:
                        status = 0
                    latencies.append(time.monotonic() - t0)
                    answered += status == 200
                    pause(0.1)
            cut = slow.stop()
            out.counts.update(slow_clients=R6_SLOW_CLIENTS, slow_cut=cut, heartbeats=len(latencies),
                              answered=answered, slowest_answer_s=round(max(latencies), 2))
            out.expect("the API answered every heartbeat", answered == len(latencies))
            out.expect("each within a second", max(latencies) < 1.0)
            out.expect("every slow client cut off", cut == R6_SLOW_CLIENTS)
        out.counts["processes_left"] = w.leftover
        out.expect("every process stopped", w.leftover == 0)
    finally:
        hanging.stop()
        trickling.stop()
    return out


class SilentAgent:
    """An agent that accepts every connection and reads the request, then answers ``rate`` bytes a second of
    a 202 answer (0: never answers, the connection just hangs)."""

    ANSWER = b'HTTP/1.1 202 Accepted\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}'

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.connections = 0
        self._stop = threading.Event()
        self._listener = socket.socket()
        self._listener.bind((LOCAL, 0))
        self._listener.listen(256)
        self._listener.settimeout(0.5)
        self.url = f"http://{LOCAL}:{self._listener.getsockname()[1]}"

    def start(self) -> SilentAgent:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                continue
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(1.0)
        with conn:
            sent = 0
            while not self._stop.is_set():
                try:
                    if not conn.recv(65536) and sent == 0:
                        return
                except TimeoutError:
                    pass
                except OSError:
                    return
                if self.rate and sent < len(self.ANSWER):
                    try:
                        conn.send(self.ANSWER[sent:sent + 1])
                    except OSError:
                        return
                    sent += 1
                    self._stop.wait(1.0 / self.rate)

    def stop(self) -> None:
        self._stop.set()
        self._listener.close()


class SlowClients:
    """``count`` connections to the API, each sending its request headers one byte a second."""

    HEAD = b"POST /api/sync/items HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"

    def __init__(self, port: int, count: int) -> None:
        self.socks = [socket.create_connection((LOCAL, port)) for _ in range(count)]
        self.closed: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._trickle, daemon=True)

    def start(self) -> SlowClients:
        self._thread.start()
        return self

    def _trickle(self) -> None:
        sent = 0
        while not self._stop.is_set():
            for n, sock in enumerate(self.socks):
                if n in self.closed:
                    continue
                try:
                    sock.send(self.HEAD[sent % len(self.HEAD):][:1])
                    sock.setblocking(False)
                    try:
                        if sock.recv(4096) == b"":
                            self.closed.add(n)
                    except BlockingIOError:
                        pass
                    finally:
                        sock.setblocking(True)
                except OSError:
                    self.closed.add(n)
            sent += 1
            self._stop.wait(1.0)

    def stop(self) -> int:
        """Stop sending; answers how many connections the server had closed."""
        self._stop.set()
        self._thread.join(5)
        for sock in self.socks:
            sock.close()
        return len(self.closed)


SCENARIOS = {"R1": r1, "R2": r2, "R3": r3, "R4": r4, "R5": r5, "R6": r6}
