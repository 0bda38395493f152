"""Order delivery DTOs: placing an order, callbacks, sync jobs, dead letters and breakers."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID

import msgspec
from litestar.openapi.spec import Schema
from litestar.openapi.spec.enums import OpenAPIType

from restosync_core.errors import ValidationFailed
from restosync_core.model.delivery import BreakerStatus, NewOrder, NewOrderLine, SyncJobDetail
from restosync_core.model.ids import VendorId
from restosync_core.model.orders import DeadLetter, Order, SyncJob
from restosync_http.dto.base import NOT_BLANK, Dto, VendorIdField

DecimalString = Annotated[
    str,
    msgspec.Meta(pattern=r"^-?[0-9]+(\.[0-9]+)?$", max_length=40, description="A decimal as a JSON string.",
                 examples=["18.50"]),
]
_DECIMALS = r"(?:\.[0-9]{1,4}0*)?"
QUANTITY_PATTERN = rf"^0*(?:[1-9][0-9]{{0,13}}{_DECIMALS}|0\.[0-9]{{0,3}}[1-9]0*)$"
"""The quantities the API takes, as the OpenAPI document states them: above 0, at most 14 digits before the
point and 4 after (trailing zeros beyond them are fine: ``1.50000``). Out of them is a 400 naming the limit."""
UNIT_PRICE_PATTERN = rf"^(?:0*[1-9][0-9]{{0,9}}{_DECIMALS}|0+{_DECIMALS}|-0+(?:\.0+)?)$"
"""Unit prices: 0 or more, at most 10 digits before the point and 4 after."""

SCALE = 4
"""Digits after the point of every order decimal: ``numeric(p, 4)`` in migrations/0001_schema.sql."""
QUANTITY_INTEGER_DIGITS = 14
"""``order_lines.quantity numeric(18, 4)``: 14 digits before the point."""
UNIT_PRICE_INTEGER_DIGITS = 10
"""``order_lines.unit_price numeric(14, 4)``: 10 digits before the point."""
_QUANTUM = Decimal(1).scaleb(-SCALE)


def _decimal(value: str, path: str, integer_digits: int) -> Decimal:
    """The text as a ``Decimal`` that fits its column, or a 400 naming the path and the column's limits."""
    try:
        number = Decimal(value)
    except InvalidOperation as exc:  # pragma: no cover - the pattern already refused it
        raise ValidationFailed(f"not a decimal at {path}", path=path) from exc
    limit = f"at most {integer_digits} digits before the point and {SCALE} after"
    if abs(number) >= Decimal(10) ** integer_digits:
        raise ValidationFailed(f"{value} is too large ({limit}) at {path}", path=path)
    if number != number.quantize(_QUANTUM, rounding=ROUND_DOWN):  # trailing zeros are fine: "1.50000"
        raise ValidationFailed(f"{value} has more than {SCALE} digits after the point ({limit}) at {path}",
                               path=path)
    return number


def decimal_text(number: Decimal) -> str:
    """One spelling of an order decimal on every answer: the stored one, with exactly 4 decimals."""
    return f"{number.quantize(_QUANTUM):f}"


class OrderLineRequest(Dto):
    openapi_extra: ClassVar[dict[str, Any]] = {
        "properties": {
            "quantity": {"pattern": QUANTITY_PATTERN, "examples": ["2.5"],
                         "description": "A decimal above 0 as a JSON string: at most 14 digits before the point "
                         "and 4 after."},
            "unitPrice": {"pattern": UNIT_PRICE_PATTERN,
                          "description": "A decimal of 0 or more as a JSON string: at most 10 digits before the "
                          "point and 4 after."},
        },
    }

    sku: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    quantity: DecimalString
    unit_price: DecimalString


class PlaceOrderRequest(Dto):
    openapi_example: ClassVar[dict[str, Any] | None] = {
        "vendorId": "vendor-42",
        "orderNumber": "RM-2026-000123",
        "lines": [{"sku": "SKU-1", "quantity": "2.5", "unitPrice": "18.50"}],
    }

    vendor_id: VendorIdField
    order_number: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    lines: Annotated[list[OrderLineRequest], msgspec.Meta(min_length=1, max_length=500)]

    def to_core(self) -> NewOrder:
        return NewOrder(
            vendor_id=VendorId(self.vendor_id),
            order_number=self.order_number,
            lines=tuple(
                NewOrderLine(
                    ln.sku,
                    _decimal(ln.quantity, f"$.lines[{i}].quantity", QUANTITY_INTEGER_DIGITS),
                    _decimal(ln.unit_price, f"$.lines[{i}].unitPrice", UNIT_PRICE_INTEGER_DIGITS),
                )
                for i, ln in enumerate(self.lines)
            ),
        )


class OrderLineResponse(Dto):
    sku: str
    quantity: str
    unit_price: str


class OrderResponse(Dto):
    id: str
    vendor_id: str
    order_number: str
    status: str
    erp_reference: str | None
    lines: list[OrderLineResponse]
    created_at: datetime
    updated_at: datetime
    sync_job_id: str | None = None

    @classmethod
    def of(cls, order: Order, sync_job_id: object = None) -> OrderResponse:
        return cls(
            id=str(order.id),
            vendor_id=order.vendor_id,
            order_number=order.order_number,
            status=order.status.value,
            erp_reference=order.erp_reference,
            lines=[
                OrderLineResponse(
                    sku=ln.sku, quantity=decimal_text(ln.quantity), unit_price=decimal_text(ln.unit_price)
                )
                for ln in order.lines
            ],
            created_at=order.created_at,
            updated_at=order.updated_at,
            sync_job_id=str(sync_job_id) if sync_job_id else None,
        )


class CallbackRequest(Dto):
    openapi_extra: ClassVar[dict[str, Any]] = {
        # `completed` needs a non-blank erpReference (handle_order_callback); `failed` does not.
        "any_of": [
            Schema(properties={"status": Schema(const="failed")}),
            Schema(required=["erpReference"],
                   properties={"erpReference": Schema(type=OpenAPIType.STRING, pattern=NOT_BLANK)}),
        ],
    }
    openapi_example: ClassVar[dict[str, Any] | None] = {
        "jobId": "0b9e2a3c-1d4f-4a5b-8c6d-7e8f9a0b1c2d", "status": "completed", "erpReference": "SO-2026-00042",
    }

    job_id: Annotated[UUID, msgspec.Meta(description="The sync job's id (a UUID).")]
    status: Literal["completed", "failed"]
    erp_reference: Annotated[str, msgspec.Meta(min_length=1, max_length=255)] | None = None
    error: Annotated[str, msgspec.Meta(max_length=4000)] | None = None


class SyncJobResponse(Dto):
    id: str
    order_id: str | None
    vendor_id: str
    job_type: str
    status: str
    attempts: int
    max_attempts: int
    next_attempt_at: datetime | None
    claimed_by: str | None
    claimed_until: datetime | None
    correlation_id: str
    erp_reference: str | None
    last_error: str | None
    sent_at: datetime | None
    completed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    payload: dict[str, Any] | None = None

    @classmethod
    def of(cls, job: SyncJob, *, with_payload: bool = False) -> SyncJobResponse:
        return cls(
            id=str(job.id),
            order_id=str(job.order_id) if job.order_id else None,
            vendor_id=job.vendor_id,
            job_type=job.job_type,
            status=job.status.value,
            attempts=job.attempts,
            max_attempts=job.max_attempts,
            next_attempt_at=job.next_attempt_at,
            claimed_by=job.claimed_by,
            claimed_until=job.claimed_until,
            correlation_id=str(job.correlation_id),
            erp_reference=job.erp_reference,
            last_error=job.last_error,
            sent_at=job.sent_at,
            completed_at=job.completed_at,
            created_at=job.created_at,
            updated_at=job.updated_at,
            payload=dict(job.payload) if with_payload else None,
        )


class CallbackResponse(Dto):
    result: Literal["applied", "unchanged"]
    job: SyncJobResponse


class DeadLetterResponse(Dto):
    id: str
    sync_job_id: str | None
    vendor_id: str
    job_type: str
    last_error: str | None
    attempts: int
    resolved: bool
    resolved_at: datetime | None
    retry_count: int
    last_retried_at: datetime | None
    created_at: datetime
    payload: dict[str, Any] | None = None

    @classmethod
    def of(cls, letter: DeadLetter, *, with_payload: bool = False) -> DeadLetterResponse:
        return cls(
            id=str(letter.id),
            sync_job_id=str(letter.sync_job_id) if letter.sync_job_id else None,
            vendor_id=letter.vendor_id,
            job_type=letter.job_type,
            last_error=letter.last_error,
            attempts=letter.attempts,
            resolved=letter.resolved,
            resolved_at=letter.resolved_at,
            retry_count=letter.retry_count,
            last_retried_at=letter.last_retried_at,
            created_at=letter.created_at,
            payload=dict(letter.payload) if with_payload else None,
        )


class SyncStatusResponse(Dto):
    job: SyncJobResponse
    order: OrderResponse | None
    dead_letters: list[DeadLetterResponse]

    @classmethod
    def of(cls, detail: SyncJobDetail) -> SyncStatusResponse:
        return cls(
            job=SyncJobResponse.of(detail.job, with_payload=True),
            order=OrderResponse.of(detail.order, detail.job.id) if detail.order else None,
            dead_letters=[DeadLetterResponse.of(d) for d in detail.dead_letters],
        )


class BreakerStatusResponse(Dto):
    key: str
    vendor_id: str
    api_type: str
    state: Literal["closed", "open", "half_open"]
    successes: int
    failures: int
    opened_at: datetime | None
    half_open_at: datetime | None

    @classmethod
    def of(cls, status: BreakerStatus) -> BreakerStatusResponse:
        return cls(
            key=str(status.key),
            vendor_id=status.key.vendor_id,
            api_type=status.key.api_type,
            state=status.state.value,
            successes=status.successes,
            failures=status.failures,
            opened_at=status.opened_at,
            half_open_at=status.half_open_at,
        )


class ResetBreakerRequest(Dto):
    openapi_example: ClassVar[dict[str, Any] | None] = {"vendorId": "vendor-42", "apiType": "orders"}

    vendor_id: VendorIdField
    api_type: Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9-]{0,31}$", examples=["orders"])] = "orders"
