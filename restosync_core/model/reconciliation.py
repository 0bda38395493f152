"""Reconciliation events: what each drift check between ERP and database found."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from restosync_core.model.ids import VendorId


class ReconciliationEventType(enum.StrEnum):
    DRIFT_CHECK = "drift_check"
    DRIFT_DETECTED = "drift_detected"
    CONFLICT_RESOLVED = "conflict_resolved"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class ReconciliationEvent:
    id: UUID
    vendor_id: VendorId
    event_type: ReconciliationEventType
    entity: str
    duration_ms: int
    created_at: datetime
    summary: dict[str, object] = field(default_factory=dict)
