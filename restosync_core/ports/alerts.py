"""The AlertSink port: where operators are told that something needs a look (REQ-10)."""

from __future__ import annotations

import enum
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


class AlertSink(Protocol):
    async def send(self, alert: Alert) -> None:
        """Deliver the alert (always logged; Slack when configured). May raise; callers log and go on."""
        ...
