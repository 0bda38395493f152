"""The pure steps of the ingest pipeline: duplicates, staleness, and what to write.

    validate (the shell) -> content hash -> drop in-request duplicates (last wins)
    -> compare with what is stored (unchanged, stale) -> resolve codes -> write

``plan_ingest`` runs the steps after hashing for one request and answers, for
every input row, either the reason it is not written or the write to perform;
the writes come out in key order (the order rows are locked in). After the
upsert, ``classify_refused`` names the reason for the rare row the database's
own guard refused because a concurrent push got there first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from restosync_core.model.ingest import RowReason, StoredVersion
from restosync_core.model.mappings import MappingResult, MappingType
from restosync_core.ports.catalog import ItemCodes, StockTarget
from restosync_core.ports.mappings import CodeKey

K = TypeVar("K", str, tuple[str, str])
W = TypeVar("W")


def compare_with_stored(content_hash: str, updated_at: datetime, stored: StoredVersion | None) -> RowReason | None:
    """``unchanged`` when the content is the same, ``stale`` when the stored row is newer, else None (write).

    Equal content wins over staleness: an older push of what is already stored
    is simply unchanged. An equal ``updatedAt`` with different content is written.
    """
    if stored is None:
        return None
    if stored.content_hash == content_hash:
        return RowReason.UNCHANGED
    if stored.updated_at > updated_at:
        return RowReason.STALE
    return None


def last_occurrences(keys: Sequence[K]) -> dict[K, int]:
    """Each distinct key's last position: the row that counts when a key repeats."""
    return {key: index for index, key in enumerate(keys)}


@dataclass(frozen=True, slots=True)
class IngestPlan(Generic[W]):
    reasons: list[RowReason | None]
    """One per input row: None for a row to write, else why it is not written."""
    write_indices: list[int]
    """Input positions of the rows to write, in key order."""
    writes: list[W]
    """The writes, aligned with ``write_indices``."""


def plan_ingest(
    keys: Sequence[K],
    hashes: Sequence[str],
    updated_at: Sequence[datetime],
    stored: Mapping[K, StoredVersion],
    prepare: Callable[[int], W | RowReason],
) -> IngestPlan[W]:
    """Decide every row of one request.

    ``stored`` holds what the database has for the keys (absent: nothing);
    ``prepare(i)`` resolves row ``i``'s codes and answers its write, or the
    reason it fails (unmapped code, unknown item ...). It is only asked for rows
    that are neither duplicates nor unchanged nor stale.
    """
    last = last_occurrences(keys)
    reasons: list[RowReason | None] = [None] * len(keys)
    pending: list[tuple[K, int, W]] = []
    for index, key in enumerate(keys):
        if last[key] != index:
            reasons[index] = RowReason.DUPLICATE_IN_REQUEST
            continue
        reason = compare_with_stored(hashes[index], updated_at[index], stored.get(key))
        if reason is not None:
            reasons[index] = reason
            continue
        prepared = prepare(index)
        if isinstance(prepared, RowReason):
            reasons[index] = prepared
        else:
            pending.append((key, index, prepared))
    pending.sort(key=_first)
    return IngestPlan(reasons, [p[1] for p in pending], [p[2] for p in pending])


def _first(entry: tuple[K, int, W]) -> K:
    return entry[0]


def classify_refused(content_hash: str, updated_at: datetime, stored: StoredVersion | None) -> RowReason:
    """Why the upsert's guard left a row alone: a concurrent push stored the same or a newer row."""
    return compare_with_stored(content_hash, updated_at, stored) or RowReason.STALE


def item_code_keys(unit: str, vat: str, family: str | None, subfamily: str | None) -> list[CodeKey]:
    keys: list[CodeKey] = [(MappingType.UNIT, unit), (MappingType.VAT, vat)]
    if family is not None:
        keys.append((MappingType.FAMILY, family))
    if subfamily is not None:
        keys.append((MappingType.SUBFAMILY, subfamily))
    return keys


def resolve_item_codes(
    unit: str,
    vat: str,
    family: str | None,
    subfamily: str | None,
    resolved: Mapping[CodeKey, MappingResult | None],
) -> ItemCodes | RowReason:
    """Unit and VAT are required (``unmapped_unit`` first, then ``unmapped_vat``); family and
    subfamily without a mapping become None."""
    unit_map = resolved.get((MappingType.UNIT, unit))
    if unit_map is None:
        return RowReason.UNMAPPED_UNIT
    vat_map = resolved.get((MappingType.VAT, vat))
    if vat_map is None:
        return RowReason.UNMAPPED_VAT
    family_map = resolved.get((MappingType.FAMILY, family)) if family is not None else None
    subfamily_map = resolved.get((MappingType.SUBFAMILY, subfamily)) if subfamily is not None else None
    return ItemCodes(
        unit_code=unit_map.resto_code,
        vat_code=vat_map.resto_code,
        family_code=family_map.resto_code if family_map else None,
        subfamily_code=subfamily_map.resto_code if subfamily_map else None,
    )


def check_stock_target(target: StockTarget | None) -> RowReason | None:
    """``unknown_item`` before ``unknown_warehouse``; None when both exist."""
    if target is None or target.item_id is None:
        return RowReason.UNKNOWN_ITEM
    if target.warehouse_id is None:
        return RowReason.UNKNOWN_WAREHOUSE
    return None
