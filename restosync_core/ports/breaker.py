"""The CircuitBreaker port: one breaker per ``vendorId:apiType``, shared by every process."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from restosync_core.model.delivery import BreakerKey, BreakerStatus

T = TypeVar("T")


class CircuitBreaker(Protocol):
    async def call(self, key: BreakerKey, fn: Callable[[], Awaitable[T]]) -> T:
        """Run ``fn`` unless the breaker refuses (``CircuitOpen`` with the time to come back).

        Which errors from ``fn`` count as failures is ``policies.breaker.counts_as_failure``:
        transient trouble does; a refusal (``AgentRefused``) says the agent is up.
        The error from ``fn`` is re-raised unchanged.
        """
        ...

    async def status(self) -> list[BreakerStatus]:
        """Every breaker that has seen a call, in key order."""
        ...

    async def reset(self, key: BreakerKey) -> BreakerStatus:
        """Force the breaker closed with an empty window."""
        ...
