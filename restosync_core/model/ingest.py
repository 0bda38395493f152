"""What an ingest push did to each of its rows: processed, skipped or failed, and why."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime


class RowStatus(enum.StrEnum):
    PROCESSED = "processed"
    SKIPPED = "skipped"
    FAILED = "failed"


class RowReason(enum.StrEnum):
    """Why a row was not written (docs/agent-protocol.md); a processed row has no reason."""

    UNCHANGED = "unchanged"
    """Same content hash as stored."""
    STALE = "stale"
    """``updatedAt`` older than the one stored for that row."""
    DUPLICATE_IN_REQUEST = "duplicate_in_request"
    """The same key appears again later in the request; the last one counts."""
    UNMAPPED_UNIT = "unmapped_unit"
    UNMAPPED_VAT = "unmapped_vat"
    UNKNOWN_ITEM = "unknown_item"
    UNKNOWN_WAREHOUSE = "unknown_warehouse"

    @property
    def status(self) -> RowStatus:
        return _STATUS_OF[self]


_STATUS_OF = {
    RowReason.UNCHANGED: RowStatus.SKIPPED,
    RowReason.STALE: RowStatus.SKIPPED,
    RowReason.DUPLICATE_IN_REQUEST: RowStatus.SKIPPED,
    RowReason.UNMAPPED_UNIT: RowStatus.FAILED,
    RowReason.UNMAPPED_VAT: RowStatus.FAILED,
    RowReason.UNKNOWN_ITEM: RowStatus.FAILED,
    RowReason.UNKNOWN_WAREHOUSE: RowStatus.FAILED,
}


@dataclass(frozen=True, slots=True)
class StoredVersion:
    """What the database holds for a row: enough to tell unchanged and stale rows apart."""

    content_hash: str
    updated_at: datetime
    """The ERP's ``updatedAt`` of the stored row."""


@dataclass(frozen=True, slots=True)
class IngestReport:
    """One entry per input row, in input order: ``None`` when the row was written, else why not."""

    reasons: Sequence[RowReason | None]

    @property
    def processed(self) -> int:
        return sum(1 for r in self.reasons if r is None)

    @property
    def skipped(self) -> int:
        return sum(1 for r in self.reasons if r is not None and r.status is RowStatus.SKIPPED)

    @property
    def failed(self) -> int:
        return sum(1 for r in self.reasons if r is not None and r.status is RowStatus.FAILED)

    def status_of(self, index: int) -> RowStatus:
        reason = self.reasons[index]
        return RowStatus.PROCESSED if reason is None else reason.status
