"""Fake of the audit log port: ``db.tables['audit_log']`` is a list of ``AuditEntry``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from restosync_core.model.audit import AuditEntry

AUDIT = "audit_log"


class FakeAuditLog:
    def __init__(self, db: Any) -> None:
        self.rows: list[AuditEntry] = db.table(AUDIT, list)

    async def record(self, entry: AuditEntry) -> None:
        self.rows.append(entry)

    async def record_many(self, entries: Sequence[AuditEntry]) -> None:
        self.rows.extend(entries)
