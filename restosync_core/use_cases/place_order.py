"""Place an order: the order, its lines and its pending sync job in one transaction; then wake a worker.

Only for a vendor with a registered agent: an order nobody can receive is refused
(409) rather than retried into the dead letters.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from restosync_core import log_context
from restosync_core.errors import Conflict, ValidationFailed
from restosync_core.model.delivery import ORDER_SYNC_JOB_TYPE, NewOrder, PlacedOrder
from restosync_core.model.ids import OrderId, SyncJobId, is_valid_vendor_id
from restosync_core.model.orders import Order, OrderLine, OrderStatus, SyncJob, pending_sync_job
from restosync_core.policies.retry import RetryPolicy
from restosync_core.ports.clock import Clock
from restosync_core.ports.queue import JobQueue
from restosync_core.ports.unit_of_work import UnitOfWorkFactory
from restosync_core.use_cases.sweep_sync_jobs import wake_or_leave_to_sweeper

MAX_LINES = 500


def order_payload(order: Order, job_id: SyncJobId) -> dict[str, object]:
    """The body the agent receives on ``/sync/create-order`` (docs/agent-protocol.md); decimals as strings."""
    return {
        "jobId": str(job_id),
        "orderId": str(order.id),
        "vendorId": order.vendor_id,
        "orderNumber": order.order_number,
        "createdAt": order.created_at.isoformat(),
        "lines": [
            {"sku": line.sku, "quantity": str(line.quantity), "unitPrice": str(line.unit_price)}
            for line in order.lines
        ],
    }


def _validate(new: NewOrder) -> None:
    if not is_valid_vendor_id(new.vendor_id):
        raise ValidationFailed("vendorId must be 1-64 characters of [A-Za-z0-9._-]", path="$.vendorId")
    if not 1 <= len(new.order_number) <= 64:
        raise ValidationFailed("orderNumber must be 1-64 characters", path="$.orderNumber")
    if not 1 <= len(new.lines) <= MAX_LINES:
        raise ValidationFailed(f"an order has 1 to {MAX_LINES} lines", path="$.lines")
    for i, line in enumerate(new.lines):
        if not 1 <= len(line.sku) <= 64:
            raise ValidationFailed("sku must be 1-64 characters", path=f"$.lines[{i}].sku")
        if not line.quantity.is_finite() or line.quantity <= 0:
            raise ValidationFailed("quantity must be a decimal above 0", path=f"$.lines[{i}].quantity")
        if not line.unit_price.is_finite() or line.unit_price < 0:
            raise ValidationFailed("unitPrice must be a decimal of 0 or more", path=f"$.lines[{i}].unitPrice")


def new_sync_job(
    order: Order, now: datetime, policy: RetryPolicy, correlation_id: uuid.UUID | None = None
) -> SyncJob:
    job_id = SyncJobId(uuid.uuid4())
    return pending_sync_job(
        job_id, order_id=order.id, vendor_id=order.vendor_id, job_type=ORDER_SYNC_JOB_TYPE,
        payload=order_payload(order, job_id), max_attempts=policy.max_attempts, now=now,
        correlation_id=correlation_id,
    )


@dataclass(frozen=True, slots=True)
class PlaceOrder:
    uow: UnitOfWorkFactory
    queue: JobQueue
    clock: Clock
    policy: RetryPolicy

    async def __call__(self, new: NewOrder, correlation_id: uuid.UUID | None = None) -> PlacedOrder:
        """``correlation_id`` follows the order to the agent, the worker's logs and the callback."""
        _validate(new)
        now = self.clock.now()
        order = Order(
            id=OrderId(uuid.uuid4()),
            vendor_id=new.vendor_id,
            order_number=new.order_number,
            status=OrderStatus.PENDING,
            lines=tuple(OrderLine(ln.sku, ln.quantity, ln.unit_price) for ln in new.lines),
            erp_reference=None,
            created_at=now,
            updated_at=now,
        )
        job = new_sync_job(order, now, self.policy, correlation_id)
        log_context.bind(sync_job_id=str(job.id), correlation_id=str(job.correlation_id))
        async with self.uow() as uow:
            if await uow.agents.get(new.vendor_id) is None:
                raise Conflict(
                    f"no agent is registered for vendor {new.vendor_id}: "
                    "its orders cannot be delivered until the vendor's agent registers"
                )
            await uow.orders.add(order)
            await uow.sync_jobs.add(job)
        await wake_or_leave_to_sweeper(self.queue, job.id, now)
        return PlacedOrder(order=order, sync_job_id=job.id)
