"""Reconciliation DTOs (issue 10, REQ-11, REQ-15): the trigger, runs, events and a vendor's figures.

Also the readers of what arrives outside a body: a run id in the path, a vendor
id in the path or query and RFC 3339 instants in the query; each bad one is a
400 naming its parameter.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Any, ClassVar

import msgspec

from restosync_core.errors import ValidationFailed
from restosync_core.model.reconciliation import (
    ReconciliationEvent,
    ReconciliationEventType,
    ReconciliationRun,
    RunId,
    RunScope,
)
from restosync_core.ports.reconciliation import EventFilter, ReconciliationMetrics, RunRequest, WindowFigures
from restosync_http.dto.base import Dto, VendorIdField, enum_param
from restosync_http.dto.base import vendor_param as vendor_param  # the reconciliation routes read theirs here
from restosync_http.dto.ingest import MAX_OFFSET

_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$"
)


# ---------------------------------------------------------------- reading the request


def run_id_param(value: str, name: str = "runId") -> RunId:
    """A run id (a UUID) from the path or the query, or a 400 naming ``name``."""
    try:
        return RunId(uuid.UUID(value))
    except ValueError as exc:
        raise ValidationFailed(f"{name} must be a UUID", path=name) from exc


def instant_param(value: str, name: str) -> datetime:
    """An RFC 3339 date-time with its offset (``2026-01-15T09:30:00+01:00``, ``...Z``), or a 400 naming ``name``."""
    if _RFC3339.match(value):
        try:
            instant = datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
        except ValueError:
            pass  # matches the shape but is no date (month 13, hour 25): refused below
        else:
            offset = instant.utcoffset()
            if offset is not None and abs(offset) < MAX_OFFSET:  # PostgreSQL stores offsets up to 15:59
                return instant
    raise ValidationFailed(
        f"{name} must be an RFC 3339 date-time with an offset within ±15:59, such as 2026-01-15T09:30:00+01:00",
        path=name,
    )


def event_filter(
    *,
    vendor_id: str | None,
    entity: str | None,
    run_id: str | None,
    event_type: str | None,
    since: str | None,
    until: str | None,
) -> EventFilter:
    """The event log's query filters; 400 naming the first bad one.

    ``since`` after ``until`` is an empty window, answered as such (an empty
    page): a rule between two parameters is one the OpenAPI document cannot
    state, so a request it calls valid is never refused for it.
    """
    start = instant_param(since, "since") if since is not None else None
    end = instant_param(until, "until") if until is not None else None
    return EventFilter(
        vendor_id=vendor_param(vendor_id) if vendor_id is not None else None,
        entity=enum_param(RunScope, entity, "entity") if entity is not None else None,
        run_id=run_id_param(run_id) if run_id is not None else None,
        event_type=enum_param(ReconciliationEventType, event_type, "eventType") if event_type is not None else None,
        since=start,
        until=end,
    )


# ---------------------------------------------------------------- bodies


class TriggerRequest(Dto):
    openapi_example: ClassVar[dict[str, Any] | None] = {"vendorId": "vendor-42", "entity": "all", "confirm": False}

    vendor_id: VendorIdField
    entity: Annotated[RunScope, msgspec.Meta(description="What to compare: `items`, `stock` or `all` (both).")] = (
        RunScope.ALL
    )
    confirm: Annotated[
        bool, msgspec.Meta(description="Lift the blast-radius limit for this run (after a stopped run's preview).")
    ] = False


class RunResponse(Dto):
    id: str
    vendor_id: str
    scope: str
    trigger: str
    status: str
    confirmed: bool
    correlation_id: str | None
    requested_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    summary: dict[str, Any]
    """The run summary: ``entities`` (each entity's figures), ``durationMs``, ``reason``, totals, ``samples``."""

    @classmethod
    def of(cls, run: ReconciliationRun, *, with_samples: bool = True) -> RunResponse:
        summary = run.summary.as_dict()
        if not with_samples:
            summary.pop("samples", None)
        return cls(
            id=str(run.id),
            vendor_id=run.vendor_id,
            scope=run.scope.value,
            trigger=run.trigger.value,
            status=run.status.value,
            confirmed=run.confirmed,
            correlation_id=str(run.correlation_id) if run.correlation_id else None,
            requested_at=run.requested_at,
            started_at=run.started_at,
            finished_at=run.finished_at,
            summary=summary,
        )


class TriggerResponse(Dto):
    run_id: str
    status: str
    created: bool
    """False: the vendor already had this run active, and it is the one answered."""
    run: RunResponse

    @classmethod
    def of(cls, request: RunRequest) -> TriggerResponse:
        return cls(
            run_id=str(request.run.id),
            status=request.run.status.value,
            created=request.created,
            run=RunResponse.of(request.run),
        )


class EventResponse(Dto):
    id: str
    run_id: str | None
    vendor_id: str
    event_type: str
    entity: str
    duration_ms: int
    created_at: datetime
    summary: dict[str, Any]

    @classmethod
    def of(cls, event: ReconciliationEvent) -> EventResponse:
        return cls(
            id=str(event.id),
            run_id=str(event.run_id) if event.run_id else None,
            vendor_id=event.vendor_id,
            event_type=event.event_type.value,
            entity=event.entity,
            duration_ms=event.duration_ms,
            created_at=event.created_at,
            summary=dict(event.summary),
        )


class WindowResponse(Dto):
    total: int
    """Runs finished in the window."""
    compared: int
    """Of those, runs that compared (completed or stopped)."""
    with_drift: int
    by_status: dict[str, int]
    drift_found: int
    repaired: int

    @classmethod
    def of(cls, figures: WindowFigures) -> WindowResponse:
        return cls(
            total=figures.runs,
            compared=figures.compared,
            with_drift=figures.with_drift,
            by_status=dict(figures.by_status),
            drift_found=figures.drift_found,
            repaired=figures.repaired,
        )


class DriftFrequency(Dto):
    """The share of comparing runs that found drift; null when no run compared in the window."""

    last_24h: float | None = msgspec.field(name="24h")
    last_7d: float | None = msgspec.field(name="7d")


class RunWindows(Dto):
    last_24h: WindowResponse = msgspec.field(name="24h")
    last_7d: WindowResponse = msgspec.field(name="7d")


class ReconciliationMetricsResponse(Dto):
    vendor_id: str
    event_count: int
    last_run: RunResponse | None
    drift_frequency: DriftFrequency
    runs: RunWindows
    recent_runs: list[RunResponse]

    @classmethod
    def of(cls, metrics: ReconciliationMetrics) -> ReconciliationMetricsResponse:
        return cls(
            vendor_id=metrics.vendor_id,
            event_count=metrics.event_count,
            last_run=RunResponse.of(metrics.last_run) if metrics.last_run else None,
            drift_frequency=DriftFrequency(
                last_24h=metrics.last_24h.drift_frequency, last_7d=metrics.last_7d.drift_frequency
            ),
            runs=RunWindows(last_24h=WindowResponse.of(metrics.last_24h), last_7d=WindowResponse.of(metrics.last_7d)),
            recent_runs=[RunResponse.of(run, with_samples=False) for run in metrics.recent_runs],
        )
