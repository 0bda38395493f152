"""The part every ingest use case shares: read what is stored, then write what changed, in chunks.

Incremental and batch pushes take the same path. The stored versions of the
request's keys are read while its rows are hashed; unchanged and stale rows
are decided here and never sent to the database again, so an unchanged
re-push costs one read and locks nothing. What changed goes to the repository
in key order, one set-based statement per chunk, in the caller's unit of
work: a request's writes commit together or not at all. When they fit one
chunk (one statement, atomic by itself) the unit of work runs in autocommit,
without the ``BEGIN``/``COMMIT`` round trips (``writes_in_one_statement``). A
request with more rows than one chunk hands its chunks over lazily, so the
adapter can pipeline them: the database writes chunk n while chunk n+1 is
hashed and decided here. Rows the statements' guard refused (a concurrent
push stored the same or a newer row between our read and our write) are read
again to name their reasons. Why read first, measured against comparing in
the writing statement: docs/decisions/0007-read-first-for-every-push.md.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Protocol, TypeVar

from restosync_core.model.ids import VendorId
from restosync_core.model.ingest import IngestReport, RowReason, StoredVersion
from restosync_core.model.metrics import IngestEntity, hour_of, push_counts
from restosync_core.policies.ingest import IngestPlan
from restosync_core.ports.clock import Clock
from restosync_core.ports.metrics import IngestCounter

log = logging.getLogger(__name__)

K = TypeVar("K", str, tuple[str, str])
W = TypeVar("W")

DEFAULT_CHUNK_SIZE = 1000
OVERLAP_MIN_ROWS = 256
"""Below this many rows, hashing is too quick to be worth overlapping with the read."""
HASH_STEP = 128
T = TypeVar("T")


async def read_while_hashing(plan: IngestPlan[K, W], read: Awaitable[T]) -> T:
    """Await ``read`` (the stored versions), hashing the plan's rows while the database answers.

    The read goes out first; the rows are hashed in key order, a few at a
    time, until its answer is in. Whatever is not hashed by then is hashed
    later, chunk by chunk, while the database writes.
    """
    if len(plan.order) < OVERLAP_MIN_ROWS:
        return await read
    pending = asyncio.ensure_future(read)
    try:
        await asyncio.sleep(0)  # let the query be sent
        for _ in plan.hash_ahead(HASH_STEP):
            if pending.done():
                break
            await asyncio.sleep(0)  # let the event loop see the answer
        return await pending
    except BaseException:
        # Never leave the read running on the transaction's connection (a cancelled request).
        pending.cancel()
        await asyncio.wait([pending])
        raise


async def write_plan(
    plan: IngestPlan[K, W],
    stored: Mapping[K, StoredVersion],
    *,
    upsert: Callable[[Iterable[Sequence[W]]], Awaitable[set[K]]],
    reread: Callable[[Sequence[K]], Awaitable[dict[K, StoredVersion]]],
    chunk_size: int,
) -> list[RowReason | None]:
    """Decide every row of ``plan`` against ``stored`` (read before), write what changed; every row's reason.

    The rows the upsert's guard refused (a concurrent push stored the same or a
    newer row after the read) are read again to name their reasons.
    """
    chunks: Iterable[Sequence[W]]
    if plan.candidates() <= chunk_size:
        chunks = list(plan.chunks(chunk_size, stored))  # at most one statement: nothing to overlap
        written = await upsert(chunks) if chunks else set()
    else:
        chunks = plan.chunks(chunk_size, stored)
        written = await upsert(chunks)
        if next(iter(chunks), None) is not None:
            raise RuntimeError("the repository left chunks unwritten")
    recheck = plan.to_recheck(written)
    stored_again = await reread(recheck) if recheck else {}
    return plan.settle(written, stored_again)


def writes_in_one_statement(plan: IngestPlan[K, W], chunk_size: int) -> bool:
    """Whether the plan's writes fit one chunk, so one statement: then no transaction is needed.

    A single ``INSERT ... ON CONFLICT`` is atomic by itself, and the reads
    around it need no snapshot of their own (the upsert's guard decides on the
    locked row): the request runs in autocommit, without the ``BEGIN`` and
    ``COMMIT`` round trips, and locks no row it does not write.
    """
    return plan.candidates() <= chunk_size


WC = TypeVar("WC", contravariant=True)


class KeyedRepository(Protocol[WC]):
    """What items and warehouses (rows keyed by one code) have in common."""

    async def stored_versions(self, vendor_id: VendorId, keys: Sequence[str], /) -> dict[str, StoredVersion]: ...

    async def upsert(
        self, vendor_id: VendorId, chunks: Iterable[Sequence[WC]], synced_at: datetime, /
    ) -> set[str]: ...


async def ingest_keyed(
    repository: KeyedRepository[W],
    vendor_id: VendorId,
    plan: IngestPlan[str, W],
    *,
    synced_at: datetime,
    chunk_size: int,
) -> list[RowReason | None]:
    """Read what is stored for the plan's keys, then write what changed, in the caller's unit of work."""
    stored = await read_while_hashing(plan, repository.stored_versions(vendor_id, plan.distinct_keys()))

    async def upsert(chunks: Iterable[Sequence[W]]) -> set[str]:
        return await repository.upsert(vendor_id, chunks, synced_at)

    async def reread(keys: Sequence[str]) -> dict[str, StoredVersion]:
        return await repository.stored_versions(vendor_id, keys)

    return await write_plan(plan, stored, upsert=upsert, reread=reread, chunk_size=chunk_size)


async def count_push(
    counter: IngestCounter | None, vendor_id: VendorId, entity: IngestEntity, report: IngestReport, clock: Clock
) -> IngestReport:
    """Add the push to the vendor's counters of the hour, after its own writes, and answer its report.

    The counters are for the metrics (REQ-11): a count that fails is logged and
    the push answered all the same, its rows are stored. Outside the push's
    transaction: a failed counter statement would abort it, and the hour's
    counter rows would stay locked while a large push commits. (The API's
    counter holds counts in memory and writes them once a second anyway:
    restosync_adapters.postgres.metrics.)
    """
    if counter is not None:
        try:
            await counter.add(vendor_id, entity, hour_of(clock.now()), push_counts(report.reasons))
        except Exception:
            log.warning("could not count a push of %d %s rows for vendor %s; the push is stored",
                        len(report.reasons), entity.value, vendor_id, exc_info=True)
    return report
