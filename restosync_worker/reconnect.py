"""Riding out an outage: capped exponential backoff (the log lines: ``restosync_adapters.logging.Outage``).

The worker, the scheduler and ``restosync run`` retry for as long as a
dependency (or a child process) is down; they must neither hammer it nor write
a log line per attempt, and they must notice at once that it is back.
"""

from __future__ import annotations

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
