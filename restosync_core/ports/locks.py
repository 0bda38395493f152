"""The TryLock port: a lock held by one process at a time across every process (PostgreSQL advisory)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from hashlib import sha256

TryLock = Callable[[int], AbstractAsyncContextManager[bool]]
"""``async with try_lock(key) as acquired``: ``False`` at once when another process holds ``key``.
The lock ends with the block, or with its holder's connection if the process dies."""


def lock_key(name: str) -> int:
    """A stable signed 64-bit lock key for a name."""
    return int.from_bytes(sha256(name.encode()).digest()[:8], "big", signed=True)
