"""One Redis round trip per agent request: its rate-limit charge and the reads it will need, in one script.

An agent's request needs three things from Redis: its rate-limit charge, its
vendor's cached token digest (``RedisAgentTokenCache``) and, for an item
push, its vendor's mapping generation (``RedisMappingInvalidation``). Asked
one after the other that is three round trips, each costing the API process
more CPU than the answer is worth. ``RedisAdmission.admit`` (``restosync_adapters.redis.admission``) runs them as ONE
Lua script when the request arrives (``restosync_http.rate_limit``) and keeps
the answers in a context variable for the rest of that request: the token
cache and the mapping generation take them from there instead of asking again.

What the separate reads guarantee still holds:

- A revocation (``forget``: bump the counter, drop the digest, atomically) that
  happened before the request arrived is seen by it; one that happens while it
  runs is a race the separate reads had too (they read microseconds later).
- A mapping change committed before the request arrived is seen by its lookup.
- Each answer is used at most once, by the request that read it, for the
  vendor it was read for (``X-Vendor-ID``, which the token must still prove):
  a second lookup in the same request, another vendor, a background task or a
  worker process (which never reads ahead) asks Redis as before.
- Redis down: the script fails, nothing is read ahead, the request is admitted
  (the rate limiter fails open, as alone) and the reads fail as they would.

docs/decisions/0006-one-redis-round-trip-per-agent-request.md has the figures.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(slots=True)
class ReadAhead:
    """What one request read ahead for one vendor; each part is taken once."""

    vendor_id: str
    token_digest: str | None
    """The cached digest of a verified token, '' when none is cached; None once taken."""
    token_stamp: str | None
    """The vendor's revocation counter (``RedisAgentTokenCache.stamp``); None once taken."""
    mapping_generation: str | None
    """'' when the vendor has none yet (``generation_of`` creates it, after authentication); None once taken."""


_CURRENT: ContextVar[ReadAhead | None] = ContextVar("restosync_redis_read_ahead", default=None)


def _current(vendor_id: str) -> ReadAhead | None:
    read = _CURRENT.get()
    return read if read is not None and read.vendor_id == vendor_id else None


def take_token_digest(vendor_id: str) -> str | None:
    """The token digest read ahead for ``vendor_id`` ('' if none was cached), or None: ask Redis."""
    read = _current(vendor_id)
    if read is None:
        return None
    digest, read.token_digest = read.token_digest, None
    return digest


def take_token_stamp(vendor_id: str) -> str | None:
    """The vendor's revocation counter read ahead, or None: ask Redis."""
    read = _current(vendor_id)
    if read is None:
        return None
    stamp, read.token_stamp = read.token_stamp, None
    return stamp


def take_mapping_generation(vendor_id: str) -> str | None:
    """The vendor's mapping generation read ahead, or None: ask Redis (none read ahead, or none existed)."""
    read = _current(vendor_id)
    if read is None:
        return None
    generation, read.mapping_generation = read.mapping_generation, None
    return generation or None



def start(read: ReadAhead | None) -> None:
    """What the current request read ahead (None: nothing)."""
    _CURRENT.set(read)
