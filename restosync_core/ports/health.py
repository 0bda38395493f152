"""The HealthProbe port: one subsystem that ``GET /health`` reports on."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class ProbeResult:
    up: bool
    details: dict[str, object] = field(default_factory=dict)
    error: str | None = None


class HealthProbe(Protocol):
    name: str
    """The key under which ``/health`` reports this subsystem (``database``, ``redis`` ...)."""
    required: bool
    """A required subsystem that is down makes ``/health`` answer 503."""

    async def check(self) -> ProbeResult:
        """Look at the subsystem; never raise, report ``up=False`` with an error instead."""
        ...
