"""A bounded in-process cache: LRU eviction, a TTL per entry, and a tag that must still match.

Pure data structure, no I/O and no clock of its own: the caller passes ``now``
(seconds, any monotonic-enough origin) so tests drive time, and passes the
``tag`` the entry must carry to count as a hit (the shared generation of
``ports.mappings.MappingInvalidation``; None where nothing invalidates, as in
the agent directory). The one in-process cache of restosync. Not thread-safe:
one per event loop.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class CacheEntry(Generic[V]):
    """One cached answer; ``value`` may itself be None (a cached 'not found')."""

    __slots__ = ("expires_at", "tag", "value")

    def __init__(self, value: V, tag: object, expires_at: float) -> None:
        self.value = value
        self.tag = tag
        self.expires_at = expires_at


class TtlLruCache(Generic[K, V]):
    """At most ``max_entries``, each usable for ``ttl_seconds`` after it was stored."""

    def __init__(self, *, max_entries: int, ttl_seconds: float) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be 1 or more")
        if ttl_seconds <= 0:
            raise ValueError("ttl_seconds must be more than 0")
        self.max_entries = max_entries
        self.ttl_seconds = ttl_seconds
        self._entries: OrderedDict[K, CacheEntry[V]] = OrderedDict()

    def get(self, key: K, *, now: float, tag: object) -> CacheEntry[V] | None:
        """The live entry for ``key`` stored under ``tag``, or None (an expired or mistagged one is dropped)."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.expires_at <= now or entry.tag != tag:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry

    def put(self, key: K, value: V, *, now: float, tag: object) -> None:
        self._entries[key] = CacheEntry(value, tag, now + self.ttl_seconds)
        self._entries.move_to_end(key)
        if len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        """Whether ``key`` is held at all, live or not (for tests and metrics)."""
        return key in self._entries
