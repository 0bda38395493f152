"""Orders placed on the marketplace, and the sync jobs that deliver them to ERPs."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from uuid import UUID, uuid4

from restosync_core.model.ids import DeadLetterId, OrderId, SyncJobId, VendorId


class OrderStatus(enum.StrEnum):
    PENDING = "pending"
    """Placed; not yet confirmed by the ERP."""
    SYNCED = "synced"
    """The ERP confirmed it and gave its reference."""
    FAILED = "failed"
    """Delivery gave up; an admin looks at the dead letter."""


@dataclass(frozen=True, slots=True)
class OrderLine:
    sku: str
    quantity: Decimal
    unit_price: Decimal


@dataclass(frozen=True, slots=True)
class Order:
    id: OrderId
    vendor_id: VendorId
    order_number: str
    status: OrderStatus
    lines: tuple[OrderLine, ...]
    erp_reference: str | None
    created_at: datetime
    updated_at: datetime


class SyncJobStatus(enum.StrEnum):
    PENDING = "pending"
    """Waiting for a worker (``next_attempt_at`` says from when)."""
    PROCESSING = "processing"
    """Claimed by a worker until ``claimed_until``."""
    SENT = "sent"
    """The agent accepted it; its callback is awaited until ``next_attempt_at``."""
    COMPLETED = "completed"
    FAILED = "failed"
    """Out of attempts or refused for good; a dead letter holds it."""


@dataclass(frozen=True, slots=True)
class SyncJob:
    id: SyncJobId
    order_id: OrderId | None
    vendor_id: VendorId
    job_type: str
    status: SyncJobStatus
    payload: dict[str, object]
    attempts: int
    max_attempts: int
    next_attempt_at: datetime | None
    claimed_until: datetime | None
    correlation_id: UUID
    erp_reference: str | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None = None
    completed_at: datetime | None = None
    claimed_by: str | None = None
    """The worker holding a ``processing`` job's claim."""


def pending_sync_job(
    job_id: SyncJobId,
    *,
    order_id: OrderId | None,
    vendor_id: VendorId,
    job_type: str,
    payload: dict[str, object],
    max_attempts: int,
    now: datetime,
    correlation_id: UUID | None = None,
) -> SyncJob:
    """A new job, due now, with no attempt made yet (placed, or rebuilt from a dead letter).

    ``correlation_id``: the id of the request that made it (a new one when there is none).
    """
    return SyncJob(
        id=job_id,
        order_id=order_id,
        vendor_id=vendor_id,
        job_type=job_type,
        status=SyncJobStatus.PENDING,
        payload=payload,
        attempts=0,
        max_attempts=max_attempts,
        next_attempt_at=now,
        claimed_until=None,
        correlation_id=correlation_id or uuid4(),
        erp_reference=None,
        last_error=None,
        created_at=now,
        updated_at=now,
    )


@dataclass(frozen=True, slots=True)
class DeadLetter:
    id: DeadLetterId
    sync_job_id: SyncJobId | None
    vendor_id: VendorId
    job_type: str
    payload: dict[str, object]
    last_error: str | None
    attempts: int
    resolved: bool
    created_at: datetime
    resolved_at: datetime | None = None
    retry_count: int = 0
    last_retried_at: datetime | None = None
    details: dict[str, object] = field(default_factory=dict)
