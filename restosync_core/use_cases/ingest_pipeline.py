"""The part every ingest use case shares: write a plan in chunks inside one transaction.

The stored versions are read while the rows are hashed. Chunks go to the
repository in key order, one set-based statement each, in
the caller's unit of work: a request's writes commit together or not at all.
A request with more candidate rows than one chunk hands its chunks over
lazily, so the adapter can pipeline them: the database writes chunk n while
chunk n+1 is hashed and decided here. Rows the statements' guard refused (a
concurrent push stored the same or a newer row between our read and our
write) are read again; the guard left them locked by this transaction, so
what is read is what stays.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Protocol, TypeVar

from restosync_core.model.ids import VendorId
from restosync_core.model.ingest import RowReason, StoredVersion
from restosync_core.policies.ingest import IngestPlan

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
    stored: Mapping[K, StoredVersion] | None,
    *,
    upsert: Callable[[Iterable[Sequence[W]]], Awaitable[set[K]]],
    reread: Callable[[Sequence[K]], Awaitable[dict[K, StoredVersion]]],
    chunk_size: int,
) -> list[RowReason | None]:
    """Decide and write every row of ``plan``; answer the final reason of every input row.

    ``stored`` is what was read before writing, or None when nothing was read
    (see ``decide_unread``): then every row that counts is offered to the
    upsert, whose guard does the comparing, and the rows it refused or that
    failed are read afterwards to name their reasons.
    """
    unread = stored is None
    known = stored if stored is not None else {}
    chunks: Iterable[Sequence[W]]
    if plan.candidates() <= chunk_size:
        chunks = list(plan.chunks(chunk_size, known))  # at most one statement: nothing to overlap
        written = await upsert(chunks) if chunks else set()
    else:
        chunks = plan.chunks(chunk_size, known)
        written = await upsert(chunks)
        if next(iter(chunks), None) is not None:
            raise RuntimeError("the repository left chunks unwritten")
    recheck = plan.to_recheck(written, unread=unread)
    stored_again = await reread(recheck) if recheck else {}
    return plan.settle(written, stored_again, unread=unread)


def decide_unread(plan: IngestPlan[K, W], *, expect_changes: bool, chunk_size: int) -> bool:
    """Whether to skip reading what is stored before writing.

    An incremental push carries rows the ERP changed, so reading them first
    would mostly confirm they must be written: one statement per request is
    saved by offering them straight to the guarded upsert and reading back only
    what it refused. A full (batch) push is mostly unchanged rows, which the
    upsert would otherwise lock for nothing: it reads first. Either way every
    row gets the same reason.
    """
    return expect_changes and plan.candidates() <= chunk_size


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
    expect_changes: bool,
    chunk_size: int,
) -> list[RowReason | None]:
    """Read what is stored (unless ``decide_unread`` says not to), then write ``plan``, in the caller's unit of work."""
    stored = (
        None if decide_unread(plan, expect_changes=expect_changes, chunk_size=chunk_size)
        else await read_while_hashing(plan, repository.stored_versions(vendor_id, plan.distinct_keys()))
    )

    async def upsert(chunks: Iterable[Sequence[W]]) -> set[str]:
        return await repository.upsert(vendor_id, chunks, synced_at)

    async def reread(keys: Sequence[str]) -> dict[str, StoredVersion]:
        return await repository.stored_versions(vendor_id, keys)

    return await write_plan(plan, stored, upsert=upsert, reread=reread, chunk_size=chunk_size)

