"""The part every ingest use case shares: write a plan in chunks inside one transaction.

Chunks go to the repository one set-based statement each, in key order, in the
caller's unit of work: a request's writes commit together or not at all. Rows
the statement's guard refused (a concurrent push stored the same or a newer
row between our read and our write) are read again; the guard left them
locked by this transaction, so what is read is what stays.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime
from typing import TypeVar

from restosync_core.errors import Forbidden
from restosync_core.model.ids import VendorId
from restosync_core.model.ingest import RowReason, StoredVersion
from restosync_core.policies.ingest import IngestPlan, classify_refused

K = TypeVar("K", str, tuple[str, str])
W = TypeVar("W")

DEFAULT_CHUNK_SIZE = 1000


def ensure_one_vendor(vendor_id: VendorId, row_vendors: Iterable[VendorId]) -> None:
    """Every row belongs to the authenticated vendor; the token decides, never the rows."""
    if any(row_vendor != vendor_id for row_vendor in row_vendors):
        raise Forbidden("rows of another vendor cannot be pushed")


def chunked(rows: Sequence[W], size: int) -> list[Sequence[W]]:
    if size < 1:
        raise ValueError("chunk size must be 1 or more")
    return [rows[start : start + size] for start in range(0, len(rows), size)]


async def write_plan(
    plan: IngestPlan[W],
    keys: Sequence[K],
    hashes: Sequence[str],
    updated_at: Sequence[datetime],
    *,
    upsert: Callable[[Sequence[W]], Awaitable[set[K]]],
    reread: Callable[[Sequence[K]], Awaitable[dict[K, StoredVersion]]],
    chunk_size: int,
) -> list[RowReason | None]:
    """Write ``plan.writes`` chunk by chunk; answer the final reason of every input row."""
    reasons = plan.reasons
    if not plan.writes:
        return reasons
    written: set[K] = set()
    for chunk in chunked(plan.writes, chunk_size):
        written |= await upsert(chunk)
    refused = [i for i in plan.write_indices if keys[i] not in written]
    if refused:
        stored = await reread([keys[i] for i in refused])
        for i in refused:
            reasons[i] = classify_refused(hashes[i], updated_at[i], stored.get(keys[i]))
    return reasons
