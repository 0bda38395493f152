"""The one way a test waits for something: poll a check until it holds, with a deadline (no bare sleeps)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
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


async def wait_until_async(
    check: Callable[[], Awaitable[T]], seconds: float, what: str, *, every: float = POLL_SECONDS
) -> T:
    """``wait_until`` for a check that must run on the test's event loop (it awaits ``check()``)."""
    deadline = time.monotonic() + seconds
    while True:
        if result := await check():
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {seconds} s waiting for {what}")
        await asyncio.sleep(every)
