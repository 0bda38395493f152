"""Drift detection (hourly, REQ-9/REQ-10): a placeholder that logs until the reconciliation engine exists.

The reconciliation issue replaces its body with "enqueue one reconciliation run
per online agent"; the cron entry, its lock and its schedule stay as they are.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DetectDrift:
    async def __call__(self) -> str:
        log.info("drift detection: the reconciliation engine is not built yet; nothing enqueued")
        return "not built yet: nothing enqueued"
