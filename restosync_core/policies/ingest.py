"""The pure steps of the ingest pipeline: duplicates, staleness, and what to write.

    validate (the shell) -> content hash -> drop in-request duplicates (last wins)
    -> compare with what is stored (unchanged, stale) -> resolve codes -> write

``IngestPlan`` holds the decisions for one request. Duplicates are settled up
front; the other rows are hashed (``hash_ahead``, while the stored versions
are being read) and decided in key order, lazily, one chunk of writes at a
time (``chunks``), so the database can write one chunk while the next one is
being hashed and decided. After the upsert, ``settle`` names the reason for
the rare row the database's own guard refused because a concurrent push got
there first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
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


class IngestPlan(Generic[K, W]):
    """The decisions for one request's rows; one reason (or None: written) per input row.

    ``hash_of(i)`` gives row ``i``'s content hash; ``prepare(i, hash)`` resolves
    its codes and answers its write, or the reason it fails (unmapped code, unknown
    item ...). Both are only asked for rows that are the last of their key, once
    each; ``prepare`` only for rows that are neither unchanged nor stale.
    """

    def __init__(
        self,
        keys: Sequence[K],
        updated_at: Sequence[datetime],
        hash_of: Callable[[int], str],
        prepare: Callable[[int, str], W | RowReason],
    ) -> None:
        self.keys: Sequence[K] = keys
        self.updated_at = updated_at
        self.hash_of = hash_of
        self.prepare = prepare
        self.reasons: list[RowReason | None] = [None] * len(keys)
        self.hashes: list[str | None] = [None] * len(keys)
        self.write_indices: list[int] = []
        """Input positions of the rows handed out for writing, in key order."""
        last = last_occurrences(keys)
        self.order = [i for i, key in enumerate(keys) if last[key] == i]
        """The rows that count (the last of each key), in key order: the order rows are locked in."""
        self.order.sort(key=keys.__getitem__)
        for i, key in enumerate(keys):
            if last[key] != i:
                self.reasons[i] = RowReason.DUPLICATE_IN_REQUEST

    def distinct_keys(self) -> list[K]:
        """The keys to read the stored versions of, in key order."""
        return [self.keys[i] for i in self.order]

    def hash_ahead(self, step: int) -> Iterator[int]:
        """Hash rows in key order, ``step`` at a time, yielding how many are done after each step.

        The caller can stop at any yield (say, when a read it overlaps with has
        finished); ``chunks`` hashes whatever is left.
        """
        done = 0
        for start in range(0, len(self.order), step):
            for i in self.order[start : start + step]:
                if self.hashes[i] is None:
                    self.hashes[i] = self.hash_of(i)
            done = min(start + step, len(self.order))
            yield done

    def chunks(self, size: int, stored: Mapping[K, StoredVersion]) -> Iterator[list[W]]:
        """Decide the remaining rows in key order against ``stored``; yield their writes ``size`` at a time."""
        if size < 1:
            raise ValueError("chunk size must be 1 or more")
        batch: list[W] = []
        hashes = self.hashes
        for i in self.order:
            content_hash = hashes[i]
            if content_hash is None:
                content_hash = hashes[i] = self.hash_of(i)
            reason = compare_with_stored(content_hash, self.updated_at[i], stored.get(self.keys[i]))
            if reason is None:
                prepared = self.prepare(i, content_hash)
                if isinstance(prepared, RowReason):
                    reason = prepared
                else:
                    batch.append(prepared)
                    self.write_indices.append(i)
                    if len(batch) == size:
                        yield batch
                        batch = []
            self.reasons[i] = reason
        if batch:
            yield batch

    def _hash(self, i: int) -> str:
        content_hash = self.hashes[i]
        assert content_hash is not None  # every row handed out for writing was hashed
        return content_hash

    def candidates(self) -> int:
        """How many rows may still be written (an upper bound on the writes ``chunks`` yields)."""
        return len(self.order)

    def to_recheck(self, written: set[K]) -> list[K]:
        """Keys to read again after writing: the rows the database's guard refused."""
        return [self.keys[i] for i in self.write_indices if self.keys[i] not in written]

    def settle(self, written: set[K], stored_again: Mapping[K, StoredVersion]) -> list[RowReason | None]:
        """The final reasons, given what is stored now for the keys of ``to_recheck``: a refused row is
        unchanged or stale."""
        for i in self.write_indices:
            key = self.keys[i]
            if key not in written:
                self.reasons[i] = classify_refused(self._hash(i), self.updated_at[i], stored_again.get(key))
        return self.reasons


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
