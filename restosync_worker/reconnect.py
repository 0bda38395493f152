"""Riding out an outage: capped exponential backoff, and one log line when it starts and one when it ends.

The worker, the scheduler and ``restosync run`` retry for as long as a
dependency (or a child process) is down; they must neither hammer it nor write
a log line per attempt, and they must notice at once that it is back.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field


@dataclass
class Backoff:
    """Delays of ``initial``, doubling up to ``cap`` seconds; ``reset()`` after a success."""

    initial: float = 0.5
    cap: float = 5.0
    _next: float = field(default=0.0, init=False)

    def next(self) -> float:
        delay = self._next or self.initial
        self._next = min(self.cap, delay * 2)
        return delay

    def reset(self) -> None:
        self._next = 0.0


@dataclass
class Outage:
    """Logs once when ``what`` becomes unavailable and once when it is back, never per attempt."""

    log: logging.Logger
    what: str
    since: float | None = None

    @property
    def ongoing(self) -> bool:
        return self.since is not None

    def failed(self, exc: BaseException, doing: str = "retrying with backoff") -> None:
        if self.since is None:
            self.since = time.monotonic()
            first = str(exc).splitlines()[0] if str(exc) else ""
            self.log.warning("%s is unavailable (%s: %s); %s", self.what, type(exc).__name__, first[:200], doing)

    def recovered(self) -> None:
        if self.since is not None:
            self.log.info("%s is back after %.1f s", self.what, time.monotonic() - self.since)
            self.since = None
