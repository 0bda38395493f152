"""Reconciliation benchmark (issue 10): a run against the naive full comparison, measured in the same run.

    python -m bench reconciliation          # or: make bench BENCH_ARGS=reconciliation

On a database and a Redis prefix of its own (both removed at the end):

1. an ERP simulator with ``BENCH_RECON_ITEMS`` (100,000) items is served by the
   test agent (``tests.fake_agent``, real HTTP) in a process of its own; the
   same items are pushed into PostgreSQL through the ingest use case, so both
   sides hold the same rows;
2. **no drift**: a reconciliation run (the real engine, PostgreSQL adapter,
   HTTP agent client and Redis breaker, in this process) finds nothing;
3. **10 drifted rows** (4 changed, 3 missing from the ERP, 3 extra in the ERP),
   made in the agent's process behind the database's back, then a run: each
   must be found and repaired, with no false positive;
4. **the naive way**, the baseline: the same drift again (other rows), then all
   rows fetched from the agent in one call, all rows read from PostgreSQL,
   compared in Python and the differences repaired the same way.

Each case runs ``BENCH_RECON_REPS`` (3) times, alternating naive and run, with
new drift each time; medians are reported. Goals: every drifted row found and
repaired, 0 false positives; <= 60 agent calls; a run <= 0.2x the naive time;
a run without drift <= 0.05x the naive time.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import statistics
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal
from multiprocessing.connection import Connection
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from bench.scratch import remove_scratch
from restosync_adapters.postgres.migrate import migrate

ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://root@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
ITEMS = int(os.environ.get("BENCH_RECON_ITEMS", "100000"))
REPS = int(os.environ.get("BENCH_RECON_REPS", "3"))
VENDOR = "bench-erp"
DRIFT = {"changed": 4, "missing": 3, "extra": 3}


# ---------------------------------------------------------------- the agent's process


def _serve_erp(items: int, commands: Connection) -> None:
    """The test agent over an ERP simulator; drift is made on command, the answer is the drifted keys."""
    from tests.erp_simulator import ErpSimulator, make_item
    from tests.fake_agent import FakeAgent

    erp = ErpSimulator()
    erp.fill(items)
    agent = FakeAgent(erp=erp).start()
    commands.send(agent.url)
    round_ = 0
    while True:
        command = commands.recv()
        if command == "stop":
            break
        if command == "calls":
            commands.send(len(agent.requests))
            continue
        if isinstance(command, dict):  # the registration's outbound credential: calls must carry it
            agent.trust(command)
            commands.send("trusted")
            continue
        round_ += 1
        skus = sorted(i.sku for i in erp.items if i.sku.startswith("SKU-"))
        step = len(skus) // 20
        chosen = [skus[(round_ * 7 + k * step) % len(skus)] for k in range(DRIFT["changed"] + DRIFT["missing"])]
        drifted = []
        for sku in chosen[: DRIFT["changed"]]:
            erp.change_item(sku, price=erp.item(sku).price + Decimal("0.01"))
            drifted.append(sku)
        for sku in chosen[DRIFT["changed"]:]:
            erp.remove_item(sku)
            drifted.append(sku)
        for k in range(DRIFT["extra"]):
            sku = f"EXTRA-{round_}-{k}"
            erp.put_item(make_item(sku, price=Decimal("4.2")))
            drifted.append(sku)
        commands.send(drifted)
    agent.stop()


# ---------------------------------------------------------------- this process


def _database_url(name: str) -> str:
    parts = urlsplit(ADMIN_URL)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


@dataclass
class Measured:
    seconds: float
    calls: int
    repaired: set[str]


async def _load(services: Any, items: int) -> None:
    from tests.erp_simulator import ErpSimulator

    erp = ErpSimulator()
    erp.fill(items)  # the same seed: the same rows as the agent's
    rows = sorted(erp.items, key=lambda i: i.sku)
    for start in range(0, len(rows), 5000):
        report = await services.ingest_items(VENDOR, rows[start : start + 5000])
        assert report.failed == 0, report


async def _run(services: Any) -> Measured:
    from restosync_core.model.reconciliation import RunScope

    request = await services.trigger_reconciliation(VENDOR, RunScope.ITEMS)
    started = time.perf_counter()
    run = await services.run_reconciliation(request.run.id, VENDOR)
    seconds = time.perf_counter() - started
    assert run is not None and run.status.value == "completed", run
    summary = run.summary.entities[0]
    events = await services.list_reconciliation_events(_filter(run.id), _page())
    repaired = {e.summary["key"]["sku"] for e in events.items if e.event_type.value == "conflict_resolved"}
    return Measured(seconds, summary.agent_calls, repaired)


def _filter(run_id: Any) -> Any:
    from restosync_core.ports.reconciliation import EventFilter

    return EventFilter(run_id=run_id)


def _page() -> Any:
    from restosync_core.model.pagination import PageRequest

    return PageRequest(1, 100)


async def _naive(services: Any, agent: Any) -> Measured:
    """Every row from the agent in one call, every row from PostgreSQL, compared, differences repaired."""
    from restosync_adapters.agent_client import HttpxAgentClient
    from restosync_core.model.catalog import Item
    from restosync_core.model.reconciliation import ReconciledEntity, RepairAction
    from restosync_core.policies.content_hash import item_hash
    from restosync_core.policies.reconciliation import WHOLE, diff_rows, row_key

    client = HttpxAgentClient(timeout_seconds=120, max_response_bytes=1 << 30,
                              url_policy=services.settings.agent_url_policy)
    try:
        started = time.perf_counter()
        theirs = await client.rows(agent, ReconciledEntity.ITEMS, WHOLE, correlation_id=uuid.uuid4())
        ours = await services.catalog_digests.rows(VENDOR, ReconciledEntity.ITEMS, WHOLE)
        erp = {row_key(r): (r, item_hash(r)) for r in theirs if isinstance(r, Item)}
        database = {row_key(r): (r, h) for r, h in ours}
        repairs, writes = diff_rows(ReconciledEntity.ITEMS, database, erp)
        await services.ingest_items(VENDOR, [w for w in writes if isinstance(w, Item)])
        gone = [r.key for r in repairs if r.action is RepairAction.DEACTIVATED]
        now = services.clock.now()
        await services.catalog_digests.deactivate(VENDOR, ReconciledEntity.ITEMS, gone,
                                                  untouched_since=now, at=now)
        seconds = time.perf_counter() - started
    finally:
        await client.aclose()
    return Measured(seconds, 1, {r.key[0] for r in repairs})


async def _bench(
    url: str, prefix: str, agent_url: str, commands: Connection
) -> list[tuple[str, str, str, str, bool]]:
    from restosync_adapters.bootstrap import bootstrap
    from restosync_adapters.settings import Settings
    from restosync_core.model.ids import VendorId
    from restosync_core.model.mappings import MappingType, NewMapping

    settings = Settings.from_env({
        "ENV": "test", "DATABASE_URL": url, "REDIS_URL": REDIS_URL, "REDIS_PREFIX": prefix,
        "AGENT_SECRET": "bench-agent-secret-0123456789", "API_SECRET": "bench-api-secret-0123456789-0123456789",
        "AGENT_TIMEOUT_SECONDS": "60", "LOG_LEVEL": "WARNING",
    })
    services = bootstrap(settings)
    await services.start()
    try:
        await services.seed_mappings([
            NewMapping(VendorId(VENDOR), MappingType.UNIT, "KG", "kg"),
            NewMapping(VendorId(VENDOR), MappingType.VAT, "TVA20", "vat-20"),
        ])
        loaded = time.perf_counter()
        await _load(services, ITEMS)
        print(f"  loaded {ITEMS:,} items into PostgreSQL in {time.perf_counter() - loaded:.1f} s")
        endpoint = await _register(services, agent_url)
        commands.send({"token": endpoint.credential.token, "signingSecret": endpoint.credential.signing_secret})
        assert commands.recv() == "trusted"
        # The steady state an hourly run meets: autovacuum has visited the freshly loaded table (its
        # visibility map lets the digest queries read the index only) and the agent has hashed its rows.
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE items")
        first = await _run(services)
        print(f"  first run after the load (the agent indexes its rows): {first.seconds * 1000:.0f} ms, untimed")

        quiet = [await _run(services) for _ in range(REPS)]
        runs: list[Measured] = []
        naive: list[Measured] = []
        misses: list[str] = []
        for _ in range(REPS):
            commands.send("drift")
            naive_expected = set(commands.recv())
            n = await _naive(services, endpoint)
            naive.append(n)
            if n.repaired != naive_expected:
                misses.append(f"naive: expected {sorted(naive_expected)}, repaired {sorted(n.repaired)}")
            commands.send("drift")
            expected = set(commands.recv())
            r = await _run(services)
            runs.append(r)
            if r.repaired != expected:
                misses.append(f"expected {sorted(expected)}, repaired {sorted(r.repaired)}")
        median = statistics.median
        naive_s = median(m.seconds for m in naive)
        run_s = median(m.seconds for m in runs)
        quiet_s = median(m.seconds for m in quiet)
        calls = max(m.calls for m in runs)
        print(f"  naive: {', '.join(f'{m.seconds * 1000:.0f}' for m in naive)} ms; "
              f"run with drift: {', '.join(f'{m.seconds * 1000:.0f}' for m in runs)} ms "
              f"({', '.join(str(m.calls) for m in runs)} agent calls); "
              f"run without drift: {', '.join(f'{m.seconds * 1000:.0f}' for m in quiet)} ms "
              f"({', '.join(str(m.calls) for m in quiet)} calls)")
        ms = lambda s: f"{s * 1000:.0f} ms"  # noqa: E731
        return [
            ("10 drifted rows (4 changed, 3 missing, 3 extra)", "all found and repaired, 0 false positives",
             "all, in every run" if not misses else "; ".join(misses), "-", not misses),
            ("agent calls per run with drift", "<= 60", str(calls), f"naive: 1 call of {ITEMS:,} rows", calls <= 60),
            ("run with drift", "<= 0.2x naive", f"{ms(run_s)} = {run_s / naive_s:.3f}x", ms(naive_s),
             run_s <= 0.2 * naive_s),
            ("run without drift", "<= 0.05x naive", f"{ms(quiet_s)} = {quiet_s / naive_s:.3f}x", ms(naive_s),
             quiet_s <= 0.05 * naive_s),
        ]
    finally:
        await services.stop()


async def _register(services: Any, agent_url: str) -> Any:
    """Register the agent; answers its endpoint (URL and the outbound credential its calls carry)."""
    import secrets

    from restosync_core.use_cases.register_agent import Registration

    registered = await services.register_agent(Registration(VENDOR, agent_url, secrets.token_urlsafe(32)))
    return registered.agent.endpoint


def run() -> bool:
    name = f"restosync_bench_recon_{uuid.uuid4().hex[:8]}"
    prefix = f"restosync-bench-recon-{uuid.uuid4().hex[:8]}"
    started = time.monotonic()
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = _database_url(name)
    ours, theirs = multiprocessing.Pipe()
    agent = multiprocessing.get_context("spawn").Process(target=_serve_erp, args=(ITEMS, theirs), daemon=True)
    goals: list[tuple[str, str, str, str, bool]] = []
    try:
        migrate(url)
        agent.start()
        if not ours.poll(300):
            raise RuntimeError("the agent process did not start")
        agent_url = ours.recv()
        print(f"  ERP simulator: {ITEMS:,} items behind the test agent at {agent_url}; {REPS} repetitions")
        goals = asyncio.run(_bench(url, prefix, agent_url, ours))
    finally:
        if agent.is_alive():
            ours.send("stop")
            agent.join(10)
            if agent.is_alive():
                agent.kill()
        remove_scratch(ADMIN_URL, REDIS_URL, name, prefix)
    widths = [max(len(g[i]) for g in goals) for i in range(4)]
    header = ("case", "goal", "measured", "same-run baseline")
    print("  " + "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + "  result")
    for g in goals:
        cells = "  ".join(c.ljust(w) for c, w in zip(g[:4], widths, strict=True))
        print(f"  {cells}  {'MET' if g[4] else 'NOT MET'}")
    print(f"  reconciliation benchmark took {time.monotonic() - started:.0f} s")
    return bool(goals) and all(g[4] for g in goals)


if __name__ == "__main__":
    raise SystemExit(0 if run() else 1)

