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
    recheck = plan.to_recheck(written, unread=False)
    stored_again = await reread(recheck) if recheck else {}
    return plan.settle(written, stored_again)


async def write_compared(
    plan: IngestPlan[K, W],
    *,
    write_changed: Callable[[Sequence[W]], Awaitable[tuple[set[K], dict[K, StoredVersion]]]],
    reread: Callable[[Sequence[K]], Awaitable[dict[K, StoredVersion]]],
    chunk_size: int,
) -> list[RowReason | None]:
    """Offer every row that counts to ONE statement that compares and writes; every row's reason.

    The statement answers the keys it wrote and, for the others, the stored
    version it compared them with. Read again are only a row that version does
    not explain (the guard refused it: a concurrent push stored the same or a
    newer row after the statement's snapshot) and a row that failed (an
    unmapped code ...: reported unchanged or stale if it is, as a read would have).
    """
    chunks = list(plan.chunks(chunk_size, {}))
    if len(chunks) > 1:
        raise ValueError("write_compared takes one chunk of writes at most (see decide_unread)")
    written, seen = await write_changed(chunks[0]) if chunks else (set(), {})
    recheck = plan.to_recheck(written, unread=True, seen=seen)
    stored_again = await reread(recheck) if recheck else {}
    return plan.settle(written, {**seen, **stored_again}, unread=True)


def decide_unread(plan: IngestPlan[K, W], *, expect_changes: bool, chunk_size: int) -> bool:
    """Whether to compare and write in ONE statement (``write_compared``) instead of reading first.

    An incremental push carries rows the ERP changed, so reading them first
    would mostly confirm they must be written: a round trip per request is
    saved by sending them to a statement that compares each with what is
    stored, writes those that changed and answers the stored version of the
    others (which it compares, never locks). A full (batch) push is mostly
    unchanged rows, cheaper to read by key than to send whole: it reads first,
    then writes what changed in pipelined chunks. Either way every row gets
    the same reason. Measured: docs/decisions/0007-incremental-push-in-one-statement.md.
    """
    return expect_changes and writes_in_one_statement(plan, chunk_size)


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

    async def upsert(self, vendor_id: VendorId, chunks: Iterable[Sequence[WC]], synced_at: datetime, /) -> set[str]: ...

    async def write_changed(
        self, vendor_id: VendorId, rows: Sequence[WC], synced_at: datetime, /
    ) -> tuple[set[str], dict[str, StoredVersion]]: ...


async def ingest_keyed(
    repository: KeyedRepository[W],
    vendor_id: VendorId,
    plan: IngestPlan[str, W],
    *,
    synced_at: datetime,
    expect_changes: bool,
    chunk_size: int,
) -> list[RowReason | None]:
    """Write ``plan`` in the caller's unit of work: in one comparing statement, or after reading (``decide_unread``)."""

    async def reread(keys: Sequence[str]) -> dict[str, StoredVersion]:
        return await repository.stored_versions(vendor_id, keys)

    if decide_unread(plan, expect_changes=expect_changes, chunk_size=chunk_size):

        async def write_changed(rows: Sequence[W]) -> tuple[set[str], dict[str, StoredVersion]]:
            return await repository.write_changed(vendor_id, rows, synced_at)

        return await write_compared(plan, write_changed=write_changed, reread=reread, chunk_size=chunk_size)
    stored = await read_while_hashing(plan, repository.stored_versions(vendor_id, plan.distinct_keys()))

    async def upsert(chunks: Iterable[Sequence[W]]) -> set[str]:
        return await repository.upsert(vendor_id, chunks, synced_at)

    return await write_plan(plan, stored, upsert=upsert, reread=reread, chunk_size=chunk_size)
