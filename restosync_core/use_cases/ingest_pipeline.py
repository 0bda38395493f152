"""The part every ingest use case shares: write a plan in chunks inside one transaction.

Chunks go to the repository in key order, one set-based statement each, in
the caller's unit of work: a request's writes commit together or not at all.
A request with more candidate rows than one chunk hands its chunks over
lazily, so the adapter can pipeline them: the database writes chunk n while
chunk n+1 is hashed and decided here. Rows the statements' guard refused (a
concurrent push stored the same or a newer row between our read and our
write) are read again; the guard left them locked by this transaction, so
what is read is what stays.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import TypeVar

from restosync_core.model.ingest import RowReason, StoredVersion
from restosync_core.policies.ingest import IngestPlan

K = TypeVar("K", str, tuple[str, str])
W = TypeVar("W")

DEFAULT_CHUNK_SIZE = 1000


async def write_plan(
    plan: IngestPlan[K, W],
    *,
    upsert: Callable[[Iterable[Sequence[W]]], Awaitable[set[K]]],
    reread: Callable[[Sequence[K]], Awaitable[dict[K, StoredVersion]]],
    chunk_size: int,
) -> list[RowReason | None]:
    """Decide and write every row of ``plan``; answer the final reason of every input row."""
    chunks: Iterable[Sequence[W]]
    if plan.candidates() <= chunk_size:
        chunks = list(plan.chunks(chunk_size))  # at most one statement: nothing to overlap
        written = await upsert(chunks) if chunks else set()
    else:
        chunks = plan.chunks(chunk_size)
        written = await upsert(chunks)
    if next(iter(chunks), None) is not None and not isinstance(chunks, list):
        raise RuntimeError("the repository left chunks unwritten")
    refused = plan.refused(written)
    stored_again = await reread(refused) if refused else {}
    return plan.settle(written, stored_again)
