"""Per-vendor sync metrics DTOs (REQ-11): ``GET /api/admin/metrics/{vendorId}?window=1h|24h|7d``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec

from restosync_core.errors import ValidationFailed
from restosync_core.model.ingest import RowStatus
from restosync_core.model.metrics import (
    DEFAULT_WINDOW,
    AgentFigures,
    DeadLetterFigures,
    IngestFigures,
    Percentiles,
    VendorMetrics,
    Window,
)
from restosync_core.model.orders import SyncJobStatus
from restosync_http.dto.base import Dto
from restosync_http.dto.orders import BreakerStatusResponse

WINDOWS = [w.value for w in Window]


def window_param(value: str | None) -> Window:
    """``?window=``: 1h, 24h or 7d (default 24h); anything else is a 400 naming it."""
    if value is None:
        return DEFAULT_WINDOW
    try:
        return Window(value)
    except ValueError as exc:
        raise ValidationFailed(f"window must be one of {', '.join(WINDOWS)} (default 24h)", path="window") from exc


class LatencyResponse(Dto):
    """Milliseconds; the percentiles are null when no delivery got that far (``samples`` 0)."""

    samples: int
    p50: float | None
    p95: float | None
    p99: float | None

    @classmethod
    def of(cls, p: Percentiles) -> LatencyResponse:
        return cls(samples=p.samples, p50=p.p50, p95=p.p95, p99=p.p99)


class LatenciesResponse(Dto):
    to_accepted: LatencyResponse
    """Order placed (the job's ``createdAt``) -> the agent accepted it (2xx, ``sentAt``)."""
    to_callback: LatencyResponse
    """Order placed -> its ``completed`` callback (``completedAt``), over the completed jobs."""


class DeliveriesResponse(Dto):
    by_status: dict[str, int]
    """Every sync job status, 0 when none."""
    retried: int
    latency_ms: LatenciesResponse
    completed_kept_since: datetime | None
    """Completed jobs are deleted after `RETENTION_COMPLETED_JOBS_HOURS`: for a window that starts before this
    instant, `completed` counts only those still kept. Null when the whole window is kept."""


class OutcomeResponse(Dto):
    pushes: int
    """Pushes with at least one row of this outcome."""
    rows: int


class EntityIngestResponse(Dto):
    pushes: int
    rows: int
    processed: int
    skipped: int
    failed: int
    by_outcome: dict[str, OutcomeResponse]
    """`processed` and every skip and failure reason the entity's pushes can answer (docs/agent-protocol.md)."""

    @classmethod
    def of(cls, figures: IngestFigures) -> EntityIngestResponse:
        return cls(
            pushes=figures.pushes,
            rows=figures.rows,
            processed=figures.rows_with(RowStatus.PROCESSED),
            skipped=figures.rows_with(RowStatus.SKIPPED),
            failed=figures.rows_with(RowStatus.FAILED),
            by_outcome={o: OutcomeResponse(pushes=c.pushes, rows=c.rows) for o, c in figures.by_outcome.items()},
        )


class IngestResponse(Dto):
    since: datetime
    """The counters are hourly: the start of the first hour counted (the one holding the window's start)."""
    items: EntityIngestResponse
    stock: EntityIngestResponse
    warehouses: EntityIngestResponse


class DeadLettersResponse(Dto):
    open: int
    """Unresolved dead letters of the vendor, whenever created."""
    opened_in_window: int

    @classmethod
    def of(cls, figures: DeadLetterFigures) -> DeadLettersResponse:
        return cls(open=figures.open, opened_in_window=figures.opened_in_window)


class BreakerResponse(Dto):
    state: str
    """The `orders` breaker's state (closed, open, half_open); closed while it has seen no call."""
    breakers: list[BreakerStatusResponse]
    """Every breaker of the vendor that has seen a call (as `GET /api/admin/circuit-breaker/status`)."""


class AgentResponse(Dto):
    status: str
    """online, degraded or offline, as of now."""
    last_heartbeat_at: datetime | None
    version: str | None

    @classmethod
    def of(cls, agent: AgentFigures) -> AgentResponse:
        return cls(status=agent.status.value, last_heartbeat_at=agent.last_heartbeat_at, version=agent.version)


class VendorMetricsResponse(Dto):
    vendor_id: str
    window: str
    since: datetime
    until: datetime
    total: int
    """Order deliveries (sync jobs) of orders placed in the window."""
    pending: int
    """Not finished: pending, processing or sent (awaiting the callback)."""
    completed: int
    failed: int
    success_rate: Annotated[
        float | None, msgspec.Meta(description="completed / (completed + failed), 0-1; null when none finished")
    ]
    avg_latency: Annotated[
        float | None, msgspec.Meta(description="Mean ms from order placed to its completed callback; null when none")
    ]
    retry_rate: Annotated[
        float | None, msgspec.Meta(description="Jobs with more than one attempt / total, 0-1; null when total is 0")
    ]
    deliveries: DeliveriesResponse
    ingest: IngestResponse
    dead_letters: DeadLettersResponse
    breaker: BreakerResponse
    agent: AgentResponse | None
    """Null when no agent is registered for the vendor."""

    @classmethod
    def of(cls, m: VendorMetrics) -> VendorMetricsResponse:
        d = m.deliveries
        return cls(
            vendor_id=m.vendor_id,
            window=m.window.value,
            since=m.since,
            until=m.until,
            total=d.total,
            pending=d.pending,
            completed=d.completed,
            failed=d.failed,
            success_rate=d.success_rate,
            avg_latency=d.avg_callback_ms,
            retry_rate=d.retry_rate,
            deliveries=DeliveriesResponse(
                by_status={s.value: d.count(s) for s in SyncJobStatus},
                retried=d.retried,
                latency_ms=LatenciesResponse(
                    to_accepted=LatencyResponse.of(d.to_accepted), to_callback=LatencyResponse.of(d.to_callback)
                ),
                completed_kept_since=m.completed_kept_since,
            ),
            ingest=IngestResponse(
                since=m.ingest_since,
                **{entity.value: EntityIngestResponse.of(figures) for entity, figures in m.ingest.items()},
            ),
            dead_letters=DeadLettersResponse.of(m.dead_letters),
            breaker=BreakerResponse(
                state=m.order_breaker.value, breakers=[BreakerStatusResponse.of(b) for b in m.breakers]
            ),
            agent=AgentResponse.of(m.agent) if m.agent else None,
        )


def _outcomes(*names: str) -> dict[str, Any]:
    return {name: {"pushes": 0, "rows": 0} for name in names}


EXAMPLE: dict[str, Any] = {
    "vendorId": "vendor-42",
    "window": "24h",
    "since": "2026-01-14T09:30:00Z",
    "until": "2026-01-15T09:30:00Z",
    "total": 120,
    "pending": 3,
    "completed": 115,
    "failed": 2,
    "successRate": 0.9829,
    "avgLatency": 2140.5,
    "retryRate": 0.05,
    "deliveries": {
        "byStatus": {"pending": 1, "processing": 0, "sent": 2, "completed": 115, "failed": 2},
        "retried": 6,
        "latencyMs": {
            "toAccepted": {"samples": 117, "p50": 85.0, "p95": 240.2, "p99": 910.7},
            "toCallback": {"samples": 115, "p50": 1800.0, "p95": 4200.5, "p99": 9100.0},
        },
        "completedKeptSince": None,
    },
    "ingest": {
        "since": "2026-01-14T09:00:00Z",
        "items": {
            "pushes": 48, "rows": 2400, "processed": 300, "skipped": 2095, "failed": 5,
            "byOutcome": {
                **_outcomes("processed", "unchanged", "stale", "duplicate_in_request", "unmapped_unit",
                            "unmapped_vat"),
                "processed": {"pushes": 20, "rows": 300},
                "unchanged": {"pushes": 48, "rows": 2095},
                "unmapped_unit": {"pushes": 1, "rows": 5},
            },
        },
        "stock": {
            "pushes": 96, "rows": 9600, "processed": 9600, "skipped": 0, "failed": 0,
            "byOutcome": {**_outcomes("processed", "unchanged", "stale", "duplicate_in_request", "unknown_item",
                                      "unknown_warehouse"),
                          "processed": {"pushes": 96, "rows": 9600}},
        },
        "warehouses": {
            "pushes": 0, "rows": 0, "processed": 0, "skipped": 0, "failed": 0,
            "byOutcome": _outcomes("processed", "unchanged", "stale", "duplicate_in_request"),
        },
    },
    "deadLetters": {"open": 2, "openedInWindow": 2},
    "breaker": {"state": "closed", "breakers": [{
        "key": "vendor-42:orders", "vendorId": "vendor-42", "apiType": "orders", "state": "closed",
        "successes": 117, "failures": 2, "openedAt": None, "halfOpenAt": None,
    }]},
    "agent": {"status": "online", "lastHeartbeatAt": "2026-01-15T09:29:41Z", "version": "1.4.2"},
}
