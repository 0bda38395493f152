"""The audit log port: the one writer of ``audit_log``, bound to a unit of work (never commits)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from restosync_core.model.audit import AuditEntry


class AuditLog(Protocol):
    async def record(self, entry: AuditEntry) -> None:
        """Append one entry."""
        ...

    async def record_many(self, entries: Sequence[AuditEntry]) -> None:
        """Append every entry in one set-based write (nothing happens for none)."""
        ...
