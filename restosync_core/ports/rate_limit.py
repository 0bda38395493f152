"""The RateLimiter port: named request limits counted in one place shared by every API process."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class RateCharge:
    """One request counted against one limit: at most ``limit`` per ``window_seconds`` per ``key``."""

    name: str
    """The limit's name (``global``, ``register``, ``sync`` ...); part of the counter's identity."""
    key: str
    """Who is counted: an IP, an agent's token digest, an API key digest ..."""
    limit: int
    window_seconds: int = 60


@dataclass(frozen=True, slots=True)
class RateDecision:
    allowed: bool
    exceeded: RateCharge | None = None
    """The first limit the request would have broken (when refused)."""
    retry_after_seconds: int = 0
    """When refused: seconds until that limit admits a request again (at least 1)."""


class RateLimiter(Protocol):
    async def hit(self, charges: Sequence[RateCharge]) -> RateDecision:
        """Count one request against every charge, atomically: either all admit it and it is counted
        in all of them, or it is refused and counted in none."""
        ...
