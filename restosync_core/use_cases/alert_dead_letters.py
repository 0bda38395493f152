"""The DLQ alert check (every 15 min, REQ-10): tell people which vendors have unresolved dead letters.

One ``dlq_entries_found`` alert per vendor, naming how many letters wait and
since when; the alert service groups them into one message and tells each
vendor's at most once per de-duplication window.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from restosync_core.ports.alerts import Alert, AlertSink, AlertType
from restosync_core.ports.clock import Clock
from restosync_core.ports.unit_of_work import UnitOfWorkFactory

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AlertDeadLetters:
    uow: UnitOfWorkFactory
    alerts: AlertSink
    clock: Clock

    async def __call__(self) -> int:
        """Answer how many unresolved dead letters there are (0: nothing raised)."""
        now = self.clock.now()
        async with self.uow() as uow:
            backlog = await uow.dead_letters.unresolved_by_vendor()
        alerts = [
            Alert(
                type=AlertType.DLQ_ENTRIES_FOUND,
                message=f"Vendor {b.vendor_id} has {b.count} unresolved dead letter(s); the oldest is from "
                f"{b.oldest_at:%Y-%m-%d %H:%M} UTC.",
                at=now,
                vendor_id=b.vendor_id,
                since=b.oldest_at,
                details={"count": b.count, "oldestAt": b.oldest_at.isoformat()},
            )
            for b in backlog
        ]
        if alerts:
            try:
                await self.alerts.send_many(alerts)
            except Exception:  # the next check raises them again
                log.exception("could not send the dlq_entries_found alerts")
        return sum(b.count for b in backlog)
