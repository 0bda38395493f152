"""The Clock port: where the core learns what time it is (tests drive it)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


class SystemClock:
    """The real clock (stdlib only, so it lives beside its port)."""

    def now(self) -> datetime:
        return datetime.now(UTC)
