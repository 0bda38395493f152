"""Order delivery: commands, outcomes, callbacks and breakers (the audit trail is in ``model.audit``)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from restosync_core.model.ids import SyncJobId, VendorId
from restosync_core.model.orders import DeadLetter, Order, SyncJob, SyncJobStatus

ORDER_SYNC_JOB_TYPE = "create-order"
ORDERS_API = "orders"
"""The api type of the breaker that guards order delivery (``<vendorId>:orders``)."""


@dataclass(frozen=True, slots=True)
class NewOrderLine:
    sku: str
    quantity: Decimal
    unit_price: Decimal


@dataclass(frozen=True, slots=True)
class NewOrder:
    """What the marketplace asks us to place."""

    vendor_id: VendorId
    order_number: str
    lines: tuple[NewOrderLine, ...]


@dataclass(frozen=True, slots=True)
class PlacedOrder:
    order: Order
    sync_job_id: SyncJobId


@dataclass(frozen=True, slots=True)
class OrderView:
    """An order as read back: with the id of the sync job delivering it (None if that job is gone)."""

    order: Order
    sync_job_id: SyncJobId | None


class CallbackStatus(enum.StrEnum):
    COMPLETED = "completed"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class AgentCallback:
    """What an agent reports on ``POST /api/agents/callback`` (its vendor comes from its token)."""

    job_id: SyncJobId
    status: CallbackStatus
    erp_reference: str | None = None
    error: str | None = None


class CallbackResult(enum.StrEnum):
    APPLIED = "applied"
    UNCHANGED = "unchanged"
    """A repeat of a callback already applied: nothing changed."""


class DeliveryOutcome(enum.StrEnum):
    NOT_CLAIMED = "not_claimed"
    """Another worker has it, it is not due, or it is finished: a duplicate wake-up."""
    SENT = "sent"
    RETRY_SCHEDULED = "retry_scheduled"
    DEFERRED = "deferred"
    """The breaker refused the call; no attempt was spent."""
    DEAD_LETTERED = "dead_lettered"
    OVERTAKEN = "overtaken"
    """The attempt was made, but before this worker recorded its outcome the job changed: its callback
    came first (a fast agent), or a worker that took over an expired claim. The job is as they left it."""


class BreakerState(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True, slots=True)
class BreakerKey:
    vendor_id: VendorId
    api_type: str

    def __str__(self) -> str:
        return f"{self.vendor_id}:{self.api_type}"

    @classmethod
    def parse(cls, text: str) -> BreakerKey:
        vendor, _, api = text.rpartition(":")
        return cls(VendorId(vendor), api)


@dataclass(frozen=True, slots=True)
class BreakerStatus:
    key: BreakerKey
    state: BreakerState
    successes: int
    """Good calls in the rolling window."""
    failures: int
    opened_at: datetime | None
    half_open_at: datetime | None
    """When an open breaker lets a probe through."""


@dataclass(frozen=True, slots=True)
class SyncJobDetail:
    """A job with its order and the dead letters it produced (``GET /api/admin/sync-status/:jobId``)."""

    job: SyncJob
    order: Order | None
    dead_letters: tuple[DeadLetter, ...]


@dataclass(frozen=True, slots=True)
class SyncJobFilter:
    vendor_id: VendorId | None = None
    status: SyncJobStatus | None = None



@dataclass(frozen=True, slots=True)
class DeadLetterBacklog:
    """One vendor's unresolved dead letters: how many, and since when (the DLQ alert check)."""

    vendor_id: VendorId
    count: int
    oldest_at: datetime
