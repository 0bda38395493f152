"""The reconciliation protocol's arithmetic, byte-exact (docs/agent-protocol.md#reconciliation).

- A row's **position** is the first 4 bytes, big-endian, of the SHA-256 of its
  SKU in UTF-8: an integer in [0, 2^32). Items and stock rows alike (all the
  stock rows of one SKU share its position). Positions do not depend on how
  either side sorts strings.
- A **range** is a half-open interval [start, end) of positions; the whole set
  is [0, 2^32).
- A range **split** into k parts has children i = 0..k-1 of bounds
  [start + ceil(i*w/k), start + ceil((i+1)*w/k)), w = end - start; a position p
  lies in child floor((p - start) * k / w). k never exceeds w.
- A range's **checksum** is the XOR of the 32-byte content hashes
  (``policies.content_hash``) of its rows, as 64 lowercase hex digits; an
  empty range has 64 zeros. XOR makes it independent of row order, and since a
  row's hash covers its key, two sides agree on a range's (count, checksum)
  exactly when they hold the same rows (but for a SHA-256 collision).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from decimal import Decimal
from hashlib import sha256

from restosync_core.errors import ValidationFailed
from restosync_core.model.catalog import Item, StockLevel
from restosync_core.model.reconciliation import FieldChange, ReconciledEntity, RepairAction, RowRepair
from restosync_core.policies.content_hash import canonical_decimal

POSITION_BITS = 32
POSITION_SPACE = 1 << POSITION_BITS
MAX_PARTS = 256
"""The most children one checksum call answers for."""
EMPTY_CHECKSUM = "0" * 64


def position(sku: str) -> int:
    """The row's place in the key-hash space: SHA-256(UTF-8 sku), first 4 bytes, big-endian."""
    return int.from_bytes(sha256(sku.encode("utf-8")).digest()[:4], "big")


@dataclass(frozen=True, slots=True, order=True)
class PositionRange:
    start: int
    end: int

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.end <= POSITION_SPACE:
            raise ValidationFailed(
                f"a range is [from, to) with 0 <= from < to <= {POSITION_SPACE}; got [{self.start}, {self.end})"
            )

    @property
    def width(self) -> int:
        return self.end - self.start

    def contains(self, pos: int) -> bool:
        return self.start <= pos < self.end

    def split(self, parts: int) -> list[PositionRange]:
        """The ``parts`` children, in order (see the module's doc for the bounds)."""
        check_parts(self, parts)
        w = self.width
        bounds = [self.start + -(-i * w // parts) for i in range(parts + 1)]
        return [PositionRange(bounds[i], bounds[i + 1]) for i in range(parts)]

    def child_of(self, pos: int, parts: int) -> int:
        """Which of the ``parts`` children holds ``pos`` (a position inside the range)."""
        return (pos - self.start) * parts // self.width

    def __str__(self) -> str:
        return f"[{self.start}, {self.end})"


WHOLE = PositionRange(0, POSITION_SPACE)


def check_parts(rng: PositionRange, parts: int) -> None:
    if not 1 <= parts <= min(MAX_PARTS, rng.width):
        raise ValidationFailed(
            f"parts must be between 1 and {min(MAX_PARTS, rng.width)} for the range {rng} "
            f"(at most {MAX_PARTS}, MAX_PARTS, and never more than the range's width)",
            path="parts",
        )


@dataclass(frozen=True, slots=True)
class RangeDigest:
    """How many rows a range holds on one side, and their checksum."""

    count: int
    checksum: str = EMPTY_CHECKSUM

    def matches(self, other: RangeDigest) -> bool:
        return self.count == other.count and self.checksum == other.checksum


EMPTY = RangeDigest(0, EMPTY_CHECKSUM)


def xor_hex(hashes: Iterable[str]) -> str:
    """The checksum of rows with these content hashes (64 hex digits each)."""
    acc = 0
    for value in hashes:
        acc ^= int(value, 16)
    return f"{acc:064x}"


def digest(hashes: Sequence[str]) -> RangeDigest:
    return RangeDigest(len(hashes), xor_hex(hashes))


def digest_parts(rng: PositionRange, parts: int, rows: Iterable[tuple[int, str]]) -> list[RangeDigest]:
    """The digests of the ``parts`` children of ``rng`` over (position, content hash) pairs inside it."""
    check_parts(rng, parts)
    counts = [0] * parts
    acc = [0] * parts
    for pos, content_hash in rows:
        if rng.contains(pos):
            i = rng.child_of(pos, parts)
            counts[i] += 1
            acc[i] ^= int(content_hash, 16)
    return [RangeDigest(c, f"{a:064x}") for c, a in zip(counts, acc, strict=True)]


def combine(digests: Iterable[RangeDigest]) -> RangeDigest:
    count, acc = 0, 0
    for d in digests:
        count += d.count
        acc ^= int(d.checksum, 16)
    return RangeDigest(count, f"{acc:064x}")


# ---------------------------------------------------------------- the search


@dataclass(frozen=True, slots=True)
class SearchLimits:
    leaf_rows: int = 16
    """A range with at most this many rows on either side is fetched and compared row by row."""
    max_parts: int = MAX_PARTS
    max_agent_calls: int = 2000
    """A run that would need more agent calls stops there and fails (an agent answering nonsense)."""
    bulk_rows: int = 200
    """Where only the ERP has rows, ranges of up to this many rows (adjacent ones merged) are fetched whole:
    a vendor missing many rows (a confirmed run) costs a call per 200 rows, not per leaf. 200 of the
    largest rows the push format allows (about 4.6 KB each) still fit the 1 MiB an answer may have."""

    def __post_init__(self) -> None:
        if not 1 <= self.leaf_rows <= 1000:
            raise ValueError("leaf_rows must be between 1 and 1000")
        if not self.leaf_rows <= self.bulk_rows <= 5000:
            raise ValueError("bulk_rows must be between leaf_rows and 5000")
        if not 2 <= self.max_parts <= MAX_PARTS:
            raise ValueError(f"max_parts must be between 2 and {MAX_PARTS}")


def is_leaf(rng: PositionRange, database: RangeDigest, erp: RangeDigest, limits: SearchLimits) -> bool:
    return max(database.count, erp.count) <= limits.leaf_rows or rng.width == 1


class Side(enum.Enum):
    """Whose rows a leaf range must be read from."""

    BOTH = "both"
    OURS = "ours"
    """The ERP has none: every live row we hold there is gone (no agent call needed)."""
    THEIRS = "theirs"
    """We hold none: every ERP row there is new (no database read needed)."""


def leaf_side(rng: PositionRange, database: RangeDigest, erp: RangeDigest, limits: SearchLimits) -> Side | None:
    """How a differing range is settled: read as a leaf from one side or both, or None: split it further."""
    if erp.count == 0:
        return Side.OURS
    if database.count == 0 and erp.count <= limits.bulk_rows:
        return Side.THEIRS
    if is_leaf(rng, database, erp, limits):
        return Side.BOTH
    return None


def merge_leaves(
    leaves: Sequence[tuple[PositionRange, Side, int]], limits: SearchLimits
) -> list[tuple[PositionRange, Side]]:
    """Adjacent one-sided leaves as one range each (ERP-only ones up to ``bulk_rows`` rows together);
    ``leaves``: (range, side, the ERP's row count), any order."""
    merged: list[tuple[PositionRange, Side, int]] = []
    for rng, side, erp_rows in sorted(leaves, key=lambda leaf: leaf[0].start):
        if merged:
            last, last_side, last_rows = merged[-1]
            joinable = side is last_side and side is not Side.BOTH and last.end == rng.start
            if joinable and (side is Side.OURS or last_rows + erp_rows <= limits.bulk_rows):
                merged[-1] = (PositionRange(last.start, rng.end), side, last_rows + erp_rows)
                continue
        merged.append((rng, side, erp_rows))
    return [(rng, side) for rng, side, _ in merged]


def parts_for(rng: PositionRange, rows: int, limits: SearchLimits) -> int:
    """How many children to split ``rng`` into, expecting ``rows`` rows: about half a leaf per child,
    so most children that differ are leaves, at most ``max_parts``, never more than the width."""
    target = max(1, limits.leaf_rows // 2)
    return max(2 if rng.width >= 2 else 1, min(limits.max_parts, rng.width, math.ceil(rows / target)))


# ---------------------------------------------------------------- row diffs

ITEM_WIRE_FIELDS = {
    "sku": "sku", "name": "name", "description": "description", "unit_code": "unitCode",
    "vat_code": "vatCode", "family_code": "familyCode", "subfamily_code": "subfamilyCode",
    "price": "price", "barcode": "barcode", "active": "active",
}
STOCK_WIRE_FIELDS = {"sku": "sku", "warehouse_id": "warehouseId", "quantity": "quantity"}


def _shown(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return canonical_decimal(value)
    return str(value)


def changed_fields(database: Item | StockLevel, erp: Item | StockLevel) -> tuple[FieldChange, ...]:
    """The content fields (not ``updatedAt``) that differ, with both values as the push format writes them."""
    names = ITEM_WIRE_FIELDS if isinstance(erp, Item) else STOCK_WIRE_FIELDS
    changes = []
    for f in fields(erp):
        wire = names.get(f.name)
        if wire is None:
            continue
        a, b = getattr(database, f.name), getattr(erp, f.name)
        if a != b:
            changes.append(FieldChange(wire, _shown(a), _shown(b)))
    return tuple(changes)


Row = Item | StockLevel


def row_key(row: Row) -> tuple[str, ...]:
    return (row.sku,) if isinstance(row, Item) else (row.sku, row.warehouse_id)


def diff_rows(
    entity: ReconciledEntity,
    database: Mapping[tuple[str, ...], tuple[Row, str]],
    erp: Mapping[tuple[str, ...], tuple[Row, str]],
) -> tuple[list[RowRepair], list[Row]]:
    """The repairs that make ``database`` equal ``erp`` (both: key -> (row, content hash)), in key order,
    and the ERP rows to write for the inserts and updates (in the same order)."""
    repairs: list[RowRepair] = []
    writes: list[Row] = []
    for key in sorted(database.keys() | erp.keys()):
        ours, theirs = database.get(key), erp.get(key)
        if theirs is None:
            repairs.append(RowRepair(entity, key, RepairAction.DEACTIVATED))
        elif ours is None:
            repairs.append(RowRepair(entity, key, RepairAction.INSERTED))
            writes.append(theirs[0])
        elif ours[1] != theirs[1]:
            repairs.append(RowRepair(entity, key, RepairAction.UPDATED, changed_fields(ours[0], theirs[0])))
            writes.append(theirs[0])
    return repairs, writes


# ---------------------------------------------------------------- the blast radius


@dataclass(frozen=True, slots=True)
class BlastRadius:
    max_share: float = 0.05
    """A run changes nothing when it would change more than this share of a vendor's rows..."""
    min_rows: int = 10
    """...and more than this many rows: below it, a small catalogue is repaired as it is."""

    def __post_init__(self) -> None:
        if not 0 < self.max_share <= 1:
            raise ValueError("max_share must be in (0, 1]")
        if self.min_rows < 0:
            raise ValueError("min_rows must be 0 or more")

    def limit(self, rows: int) -> int:
        """The most rows a run may change in a catalogue of ``rows`` rows (the larger side's count)."""
        return max(self.min_rows, math.floor(self.max_share * rows))

    def exceeded(self, changes: int, rows: int) -> bool:
        return changes > self.limit(rows)
