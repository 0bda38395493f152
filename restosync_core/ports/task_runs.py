"""The TaskRuns port: each scheduled task claims its tick once, however many schedulers and workers fire it."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class TaskRuns(Protocol):
    async def claim(self, task: str, tick: datetime, now: datetime) -> bool:
        """Record that ``task`` runs for ``tick``; False (nothing written) when that tick was already claimed."""
        ...

    async def finish(self, task: str, tick: datetime, now: datetime, *, ok: bool, detail: str) -> None:
        """Record how the run of ``tick`` ended (``detail``: its report, or the error)."""
        ...
