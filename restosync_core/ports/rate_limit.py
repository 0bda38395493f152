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
    counted: bool = True
    """False: a gate. The request is refused while ``key`` already has ``limit`` entries in the window, and
    is not added (what fills it is counted elsewhere: failed authentications, ``AuthThrottle.failed``)."""


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


@dataclass(frozen=True, slots=True)
class Throttled:
    """Too many failed authentications: ``limit`` per ``window_seconds``; try again in ``retry_after_seconds``."""

    limit: int
    window_seconds: int
    retry_after_seconds: int


class AuthThrottle(Protocol):
    """Failed authentications, counted per client address and per vendor across every API process.

    Implementations fail open: when the counts cannot be reached nothing is throttled.
    """

    async def vendor_throttled(self, vendor_id: str) -> Throttled | None:
        """Whether the vendor had too many failed authentications lately (then: how long to wait)."""
        ...

    async def failed(self, client: str, vendor_id: str | None) -> None:
        """Count one failed authentication from ``client`` (an address), naming ``vendor_id`` or no vendor."""
        ...
