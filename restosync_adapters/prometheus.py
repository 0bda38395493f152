"""Prometheus metrics (``GET /metrics``): what every process counts, and what a scrape reads at its own time.

Counted where it happens, by any process (prometheus-client, docs/prometheus-metrics.md):
HTTP requests by route template, rows pushed by entity and outcome, order deliveries
by outcome, failed scrape sources. With ``METRICS_DIR`` set, every process records
into that directory (prometheus-client's multiprocess mode: one small mmap file per
process id) and a scrape of any API process sums them all; unset, a process keeps its
counts in memory and answers only its own.

Read at scrape time, by the process that answers (never recorded): queue depth per
RQ queue, dead letters open, breaker state per vendor, agents by status. Each source
is asked apart, with a time limit; one that fails is left out of the answer and shows
as ``restosync_scrape_source_up{source} 0`` (and ``restosync_scrape_errors_total``),
never as a failed scrape.

Which of the two is a choice each process makes once, when it knows its settings:
:func:`use_metrics_dir` (``create_app`` for the API, the worker's entry point and
runtime for the workers). prometheus-client would otherwise make it on its first import,
from ``PROMETHEUS_MULTIPROC_DIR``, and name each process's files by pid alone; here they
are named by pid and a token drawn when the module is loaded (:func:`process_id`), so
processes of different containers sharing one directory, each with its own pid 1,
never write into the same file.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
    values,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from psycopg.rows import tuple_row

from restosync_adapters.bootstrap import Services
from restosync_adapters.queues import LOGICAL_QUEUES, rq_queue_key
from restosync_core.model.agents import AgentStatus
from restosync_core.model.delivery import BreakerState
from restosync_core.policies.agent_health import DEGRADED_AFTER, OFFLINE_AFTER

log = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
SOURCE_TIMEOUT_SECONDS = 2.0
"""A scrape source (a count in PostgreSQL or Redis) that takes longer is left out of that scrape."""
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED_ROUTE = "<unmatched>"
"""The route label of a request no route matched (404, 405 before routing): never the raw path."""
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
BREAKER_STATE_VALUE = {BreakerState.CLOSED: 0, BreakerState.HALF_OPEN: 1, BreakerState.OPEN: 2}

# ---------------------------------------------------------------- recorded by every process

disable_created_metrics()  # type: ignore[no-untyped-call]  # no ``*_created`` series: the multiprocess mode has none, so neither has memory mode

LOCAL = CollectorRegistry(auto_describe=True)
"""This process's own metrics: what a scrape answers when there is no ``METRICS_DIR``."""

HTTP_REQUESTS = Counter(
    "restosync_http_requests",
    "HTTP requests answered, by method, route template (never the raw path) and status code.",
    ["method", "route", "status"],
    registry=LOCAL,
)
HTTP_DURATION = Histogram(
    "restosync_http_request_duration_seconds",
    "Time from a request's arrival to its last byte answered, by method and route template.",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
    registry=LOCAL,
)
INGEST_ROWS = Counter(
    "restosync_ingest_rows",
    "Rows agents pushed (POST /api/sync/...), by entity (items, stock, warehouses), status (processed, "
    "skipped, failed) and reason (empty when processed; docs/agent-protocol.md).",
    ["entity", "status", "reason"],
    registry=LOCAL,
)
ORDER_DELIVERIES = Counter(
    "restosync_order_deliveries",
    "Order delivery jobs run by the workers, by outcome (sent, retry_scheduled, deferred, dead_lettered, "
    "overtaken, not_claimed, transient_error, error).",
    ["outcome"],
    registry=LOCAL,
)
SCRAPE_ERRORS = Counter(
    "restosync_scrape_errors",
    "Scrape-time sources (queues, dead_letters, breakers, agents) that failed or timed out during a scrape.",
    ["source"],
    registry=LOCAL,
)
RECORDED: tuple[Counter | Histogram, ...] = (HTTP_REQUESTS, HTTP_DURATION, INGEST_ROWS, ORDER_DELIVERIES,
                                             SCRAPE_ERRORS)


_TOKEN = secrets.token_hex(4)
"""Drawn when this module is loaded; a process forked from this one keeps it, with a pid of its own."""
_current_dir: str | None = None


def process_id(pid: int | None = None) -> str:
    """How this process (or the child ``pid`` forked from it) names its files: ``<pid>-<token>``."""
    return f"{os.getpid() if pid is None else pid}-{_TOKEN}"


def metrics_dir() -> str | None:
    """Where this process records its metrics, or None when it keeps them in memory."""
    return _current_dir


def use_metrics_dir(path: str | None) -> None:
    """Record this process's metrics into ``path`` (``METRICS_DIR``), or in memory when None.

    A process calls it once, before counting anything. Changing its mind later (tests
    do, one app after another) starts every count again from zero, the new way.
    """
    global _current_dir
    if path == _current_dir:
        return
    os.environ.pop(MULTIPROC_ENV, None)  # (else ``clear`` warns that it cannot clear the files: not asked here)
    for metric in RECORDED:
        metric.clear()  # every labelled value is made again, the new way, on its next use
    values.close_all_multiprocess_files()  # type: ignore[no-untyped-call]  # prometheus-client leaves it untyped
    if path is None:
        values.ValueClass = values.MutexValue
    else:
        os.makedirs(path, exist_ok=True)
        os.environ[MULTIPROC_ENV] = path  # where the values' files go (read when each file is opened)
        values.ValueClass = values.MultiProcessValue(process_identifier=process_id)  # type: ignore[no-untyped-call]
    _current_dir = path


def wipe_metrics_dir(path: str) -> int:
    """Remove what earlier processes recorded in ``path`` (its ``*.db`` files only); how many were removed.

    Only when no process of the group is running: a scrape would see counters drop.
    """
    removed = 0
    for entry in os.scandir(path):
        if entry.name.endswith(".db") and entry.is_file():
            os.remove(entry.path)
            removed += 1
    return removed


def forget_process(pid: int) -> None:
    """Bookkeeping for a process forked from this one that ended (prometheus-client's ``mark_process_dead``).

    Its counters stay: they are part of the totals. Only "live" gauges are removed, and
    restosync records none today; kept so that adding one stays correct.
    """
    if _current_dir is not None:
        multiprocess.mark_process_dead(process_id(pid), _current_dir)  # type: ignore[no-untyped-call]  # idem


# ---------------------------------------------------------------- the recording calls

def record_request(method: str, route: str | None, status: int, seconds: float) -> None:
    """One answered HTTP request; ``route`` is Litestar's path template (None: no route matched)."""
    method = method if method in HTTP_METHODS else "OTHER"  # a made-up method is no new series
    route = route or UNMATCHED_ROUTE
    HTTP_REQUESTS.labels(method, route, str(status)).inc()
    HTTP_DURATION.labels(method, route).observe(seconds)


def count_rows(entity: str, counts: Mapping[tuple[str, str], int]) -> None:
    """Rows of one push: ``(status, reason)`` -> how many (reason ``""`` for processed rows)."""
    for (status, reason), count in counts.items():
        INGEST_ROWS.labels(entity, status, reason).inc(count)


def count_delivery(outcome: str) -> None:
    ORDER_DELIVERIES.labels(outcome).inc()


# ---------------------------------------------------------------- read at scrape time

SOURCES = ("queues", "dead_letters", "breakers", "agents")

_OPEN_DEAD_LETTERS = "SELECT count(*) FROM dead_letter_queue WHERE NOT resolved"
"""Served by the partial index ``dead_letter_queue_unresolved_vendor_idx`` (``WHERE NOT resolved``)."""
_AGENTS_BY_STATUS = """
SELECT count(*) FILTER (WHERE seen >= %(degraded)s) AS online,
       count(*) FILTER (WHERE seen < %(degraded)s AND seen >= %(offline)s) AS degraded,
       count(*) FILTER (WHERE seen < %(offline)s) AS offline
FROM (SELECT COALESCE(last_heartbeat_at, registered_at) AS seen FROM agent_registry) AS agents
"""
"""Statuses as of now (``policies.agent_health``), not as the last health check recorded them.
One row per vendor: a count of a small table."""


@dataclass
class Snapshot:
    """What the scrape-time sources answered; a source that failed is in ``failed`` and has no values."""

    queue_depth: dict[str, int] = field(default_factory=dict)
    dead_letters_open: int | None = None
    breakers: list[tuple[str, str, BreakerState]] = field(default_factory=list)
    """(vendor, api type, state) of every breaker that has seen a call."""
    agents: dict[AgentStatus, int] = field(default_factory=dict)
    failed: set[str] = field(default_factory=set)


async def _queue_depth(services: Services) -> dict[str, int]:
    async with services.redis.pipeline(transaction=False) as pipe:
        for logical in LOGICAL_QUEUES:
            pipe.llen(rq_queue_key(services.settings.redis_prefix, logical))
        counts = await pipe.execute()
    return {logical: int(count) for logical, count in zip(LOGICAL_QUEUES, counts, strict=True)}


async def _dead_letters_open(services: Services) -> int:
    async with services.pool.connection(timeout=SOURCE_TIMEOUT_SECONDS) as conn:
        cur = await conn.cursor(row_factory=tuple_row).execute(_OPEN_DEAD_LETTERS)
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def _breakers(services: Services) -> list[tuple[str, str, BreakerState]]:
    return [(str(s.key.vendor_id), s.key.api_type, s.state) for s in await services.breaker.status()]


async def _agents(services: Services) -> dict[AgentStatus, int]:
    now: datetime = services.clock.now()
    params = {"degraded": now - DEGRADED_AFTER, "offline": now - OFFLINE_AFTER}
    async with services.pool.connection(timeout=SOURCE_TIMEOUT_SECONDS) as conn:
        cur = await conn.cursor(row_factory=tuple_row).execute(_AGENTS_BY_STATUS, params)
        row = await cur.fetchone()
    online, degraded, offline = row if row else (0, 0, 0)
    return {AgentStatus.ONLINE: online, AgentStatus.DEGRADED: degraded, AgentStatus.OFFLINE: offline}


async def _ask(name: str, read: Callable[[], Awaitable[Any]]) -> Any:
    try:
        return await asyncio.wait_for(read(), SOURCE_TIMEOUT_SECONDS)
    except Exception as exc:  # any failure of a source: the scrape answers without it
        first = str(exc).splitlines()[0][:200] if str(exc) else ""
        log.warning("metrics source %s unavailable: %s %s", name, type(exc).__name__, first)
        SCRAPE_ERRORS.labels(name).inc()
        return exc


async def take_snapshot(services: Services) -> Snapshot:
    """Ask every scrape-time source at once; each answers within ``SOURCE_TIMEOUT_SECONDS`` or is left out."""
    readers: dict[str, Callable[[], Awaitable[Any]]] = {
        "queues": lambda: _queue_depth(services),
        "dead_letters": lambda: _dead_letters_open(services),
        "breakers": lambda: _breakers(services),
        "agents": lambda: _agents(services),
    }
    answers = dict(zip(readers, await asyncio.gather(*(_ask(n, r) for n, r in readers.items())), strict=True))
    snapshot = Snapshot(failed={name for name, answer in answers.items() if isinstance(answer, Exception)})
    if "queues" not in snapshot.failed:
        snapshot.queue_depth = answers["queues"]
    if "dead_letters" not in snapshot.failed:
        snapshot.dead_letters_open = answers["dead_letters"]
    if "breakers" not in snapshot.failed:
        snapshot.breakers = answers["breakers"]
    if "agents" not in snapshot.failed:
        snapshot.agents = answers["agents"]
    return snapshot


class SnapshotCollector(Collector):
    """A snapshot as gauges (prometheus-client's custom-collector protocol)."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterable[Metric]:
        s = self.snapshot
        up = GaugeMetricFamily("restosync_scrape_source_up",
                               "1 when this scrape could read the source, 0 when it failed or timed out.",
                               labels=["source"])
        for name in SOURCES:
            up.add_metric([name], 0 if name in s.failed else 1)
        yield up
        if "queues" not in s.failed:
            depth = GaugeMetricFamily("restosync_queue_depth", "Jobs waiting in each RQ queue.", labels=["queue"])
            for queue, count in s.queue_depth.items():
                depth.add_metric([queue], count)
            yield depth
        if s.dead_letters_open is not None:
            yield GaugeMetricFamily("restosync_dead_letters_open", "Dead letters not resolved yet.",
                                    value=s.dead_letters_open)
        if "breakers" not in s.failed:
            breakers = GaugeMetricFamily(
                "restosync_circuit_breaker_state",
                "Each agent circuit breaker's state: 0 closed, 1 half-open, 2 open.",
                labels=["vendor", "api_type"],
            )
            for vendor, api_type, state in s.breakers:
                breakers.add_metric([vendor, api_type], BREAKER_STATE_VALUE[state])
            yield breakers
        if "agents" not in s.failed:
            agents = GaugeMetricFamily("restosync_agents",
                                       "Registered agents by status as of the scrape (online, degraded, offline).",
                                       labels=["status"])
            for status in AgentStatus:
                agents.add_metric([status.value], s.agents.get(status, 0))
            yield agents


class _Recorded(Collector):
    """This process's own recorded metrics (no ``METRICS_DIR``)."""

    def collect(self) -> Iterator[Metric]:
        yield from LOCAL.collect()


def exposition(snapshot: Snapshot) -> bytes:
    """The text format of everything: the recorded metrics (every process's, with a metrics dir) and ``snapshot``.

    Blocking (it reads every process's file): run it off the event loop.
    """
    registry = CollectorRegistry(auto_describe=False)
    if _current_dir is not None:
        multiprocess.MultiProcessCollector(registry, path=_current_dir)  # type: ignore[no-untyped-call]  # idem
    else:
        registry.register(_Recorded())
    registry.register(SnapshotCollector(snapshot))
    return generate_latest(registry)
