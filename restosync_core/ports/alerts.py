"""Alert ports: where operators are told that something needs a look (REQ-10).

``AlertSink`` is what the use cases and the breaker raise alerts through. The
alert service behind it (``restosync_core.use_cases.send_alerts``) logs every
alert, and hands each *new* one (``AlertThrottle``: once per key per window,
shared by every process) to an ``AlertNotifier`` (Slack), many of one kind
grouped into one message.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from restosync_core.model.ids import VendorId


class AlertType(enum.StrEnum):
    AGENT_OFFLINE = "agent_offline"
    DLQ_ENTRIES_FOUND = "dlq_entries_found"
    CIRCUIT_BREAKER_OPEN = "circuit_breaker_open"
    RECONCILIATION_DRIFT = "reconciliation_drift"


@dataclass(frozen=True, slots=True)
class Alert:
    type: AlertType
    message: str
    """One human sentence, safe to post in a chat channel."""
    at: datetime
    vendor_id: VendorId | None = None
    details: dict[str, object] = field(default_factory=dict)
    since: datetime | None = None
    """Since when the condition holds (last heartbeat, oldest dead letter, breaker opened)."""
    subject: str | None = None
    """What the alert is about beyond its vendor (a breaker's API type): part of its key."""

    @property
    def key(self) -> str:
        """Alerts of one key are told at most once per de-duplication window."""
        return ":".join((self.type.value, self.vendor_id or "-", *((self.subject,) if self.subject else ())))


@dataclass(frozen=True, slots=True)
class AlertMessage:
    """What a person reads: one or more alerts of one type, as text (Slack's ``text``)."""

    type: AlertType
    text: str
    keys: tuple[str, ...]


class AlertSink(Protocol):
    async def send(self, alert: Alert) -> None:
        """Raise one alert. Never waits for a slow channel; may raise only on a bug (callers log and go on)."""
        ...

    async def send_many(self, alerts: Sequence[Alert]) -> None:
        """Raise several at once: those of one type reach people as one message."""
        ...


class AlertThrottle(Protocol):
    async def first_in_window(self, keys: Sequence[str], window_seconds: int) -> set[str]:
        """The ``keys`` not told within the last ``window_seconds``, now marked told (atomically per key,
        across every process). Raises ``DependencyUnavailable`` when its store is down."""
        ...


class AlertNotifier(Protocol):
    def notify(self, message: AlertMessage) -> None:
        """Hand ``message`` over for delivery and return at once: never blocks, never raises."""
        ...
