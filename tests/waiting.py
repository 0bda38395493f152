"""The one way a test waits for something: poll a check until it holds, with a deadline (no bare sleeps)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

POLL_SECONDS = 0.05


def wait_until(
    check: Callable[[], T],
    seconds: float,
    what: str,
    *,
    ignoring: tuple[type[BaseException], ...] = (),
    every: float = POLL_SECONDS,
) -> T:
    """Call ``check`` until it answers something true, and answer that; fail naming ``what`` after ``seconds``.

    ``check`` runs at least once, and once more at the deadline. An exception of a
    type in ``ignoring`` counts as "not yet" (a server still starting); any other
    one is the test's failure. ``every`` is the pause between two checks.
    """
    deadline = time.monotonic() + seconds
    while True:
        try:
            result = check()
        except ignoring:
            pass
        else:
            if result:
                return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {seconds} s waiting for {what}")
        time.sleep(every)
