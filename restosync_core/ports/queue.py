"""The JobQueue port: how the core wakes workers. The queue holds no state of its own that matters."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from restosync_core.model.ids import SyncJobId


class JobQueue(Protocol):
    async def wake_delivery(self, job_id: SyncJobId, due_at: datetime) -> bool:
        """Have a worker try to deliver ``job_id`` at ``due_at`` (at once when it is past).

        One wake-up per (job, due time): False when that one is already queued or
        scheduled. Raises ``DependencyUnavailable`` when the queue is down; callers
        that have committed may ignore it, since the sweeper wakes what was missed.
        """
        ...
