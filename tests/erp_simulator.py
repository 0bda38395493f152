"""An ERP's items and stock for one vendor, answering the reconciliation protocol (docs/agent-protocol.md).

    erp = ErpSimulator()
    erp.fill(1000, warehouses=("WH-1", "WH-2"))     # items SKU-000000.. and their stock
    erp.checksums("items", PositionRange(0, 2**32), 16)   # what GET /sync/checksum answers
    erp.rows("stock", rng)                           # what GET /sync/stock answers
    erp.change_item("SKU-000003", price=Decimal("9.99"))   # drift: the ERP changed, nobody pushed
    erp.push_format_items() / push_format_stock()    # the rows as an agent pushes them (JSON-ready)

Like a real agent should, it keeps each row's content hash and position as
rows change (hashing 100,000 rows once, not per call), and answers a range's
checksum from a prefix XOR over rows sorted by position: a call costs
O(parts * log n), whatever the catalogue's size. The test agent
(``tests/fake_agent.py``), the in-memory fake of the agent port and the
benchmark all use it. Thread-safe: the agent's server thread reads while a
test changes rows.
"""

from __future__ import annotations

import bisect
import random
import threading
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from restosync_core.model.catalog import Item, StockLevel
from restosync_core.policies.content_hash import canonical_decimal, item_hash, stock_hash
from restosync_core.policies.reconciliation import PositionRange, RangeDigest, check_parts, position

Row = Item | StockLevel
BASE_TIME = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)


class _Index:
    """One entity's rows: key -> (row, position, hash as int), kept sorted by (position, key) as rows
    come and go (an insertion is a bisect), with a prefix XOR recomputed lazily after changes."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, ...], tuple[Row, int, int]] = {}
        self.order: list[tuple[int, tuple[str, ...]]] = []
        """(position, key), sorted."""
        self.positions: list[int] = []
        self.prefix: list[int] = [0]
        self.prefix_dirty = False
        self.bulk = False
        """While filling: sort once at the end instead of inserting one by one."""

    def put(self, key: tuple[str, ...], row: Row, content_hash: str) -> None:
        pos = position(row.sku)
        if key not in self.rows and not self.bulk:
            at = bisect.bisect_left(self.order, (pos, key))
            self.order.insert(at, (pos, key))
            self.positions.insert(at, pos)
        self.rows[key] = (row, pos, int(content_hash, 16))
        self.prefix_dirty = True

    def remove(self, key: tuple[str, ...]) -> bool:
        found = self.rows.pop(key, None)
        if found is None:
            return False
        at = bisect.bisect_left(self.order, (found[1], key))
        del self.order[at]
        del self.positions[at]
        self.prefix_dirty = True
        return True

    def end_bulk(self) -> None:
        self.bulk = False
        self.order = sorted((v[1], k) for k, v in self.rows.items())
        self.positions = [p for p, _ in self.order]
        self.prefix_dirty = True

    def _prefix(self) -> list[int]:
        if self.prefix_dirty:
            rows = self.rows
            prefix = [0] * (len(self.order) + 1)
            acc = 0
            for i, (_, key) in enumerate(self.order, 1):
                acc ^= rows[key][2]
                prefix[i] = acc
            self.prefix = prefix
            self.prefix_dirty = False
        return self.prefix

    def checksums(self, rng: PositionRange, parts: int) -> list[RangeDigest]:
        prefix = self._prefix()
        out = []
        for child in rng.split(parts):
            lo = bisect.bisect_left(self.positions, child.start)
            hi = bisect.bisect_left(self.positions, child.end)
            out.append(RangeDigest(hi - lo, f"{prefix[hi] ^ prefix[lo]:064x}"))
        return out

    def in_range(self, rng: PositionRange) -> list[Row]:
        lo = bisect.bisect_left(self.positions, rng.start)
        hi = bisect.bisect_left(self.positions, rng.end)
        return [self.rows[k][0] for _, k in self.order[lo:hi]]


class ErpSimulator:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items = _Index()
        self._stock = _Index()
        self.calls: list[tuple[str, str, int, int, int]] = []
        """(kind, entity, from, to, parts) of every protocol call answered."""
        self.before_answer: Callable[[str, str, PositionRange], None] | None = None
        """Called with (kind, entity, range) before a protocol call is answered ("checksum" or "rows"),
        outside the lock: a test can act mid-run (push a newer row, change the ERP)."""

    # ------------------------------------------------------------------ what the ERP holds
    def put_item(self, item: Item) -> None:
        with self._lock:
            self._items.put((item.sku,), item, item_hash(item))

    def put_stock(self, level: StockLevel) -> None:
        with self._lock:
            self._stock.put((level.sku, level.warehouse_id), level, stock_hash(level))

    def put_many(self, rows: Iterable[Row]) -> None:
        for row in rows:
            if isinstance(row, Item):
                self.put_item(row)
            else:
                self.put_stock(row)

    def remove_item(self, sku: str) -> bool:
        with self._lock:
            return self._items.remove((sku,))

    def remove_stock(self, sku: str, warehouse_id: str) -> bool:
        with self._lock:
            return self._stock.remove((sku, warehouse_id))

    def item(self, sku: str) -> Item:
        row = self._items.rows[(sku,)][0]
        assert isinstance(row, Item)
        return row

    def stock_level(self, sku: str, warehouse_id: str) -> StockLevel:
        row = self._stock.rows[(sku, warehouse_id)][0]
        assert isinstance(row, StockLevel)
        return row

    def change_item(self, sku: str, *, touch: timedelta = timedelta(minutes=1), **fields: Any) -> Item:
        """Change an item's fields (``updatedAt`` moves on by ``touch``), as the ERP would."""
        old = self.item(sku)
        new = replace(old, updated_at=old.updated_at + touch, **fields)
        self.put_item(new)
        return new

    def change_stock(self, sku: str, warehouse_id: str, quantity: Decimal, *,
                     touch: timedelta = timedelta(minutes=1)) -> StockLevel:
        old = self.stock_level(sku, warehouse_id)
        new = replace(old, quantity=quantity, updated_at=old.updated_at + touch)
        self.put_stock(new)
        return new

    @property
    def items(self) -> list[Item]:
        with self._lock:
            return [r for r, _, _ in self._items.rows.values() if isinstance(r, Item)]

    @property
    def stock(self) -> list[StockLevel]:
        with self._lock:
            return [r for r, _, _ in self._stock.rows.values() if isinstance(r, StockLevel)]

    def fill(self, n: int, *, warehouses: Iterable[str] = (), prefix: str = "SKU-", seed: int = 7,
             unit: str = "KG", vat: str = "TVA20") -> None:
        """``n`` items ``<prefix>000000``..., each with stock in every warehouse given."""
        rnd = random.Random(seed)
        codes = tuple(warehouses)
        self._items.bulk = self._stock.bulk = True
        try:
            for i in range(n):
                sku = f"{prefix}{i:06d}"
                self.put_item(make_item(sku, price=Decimal(rnd.randint(1, 99_999)) / 100, unit=unit, vat=vat))
                for code in codes:
                    self.put_stock(make_stock(sku, code, Decimal(rnd.randint(0, 500))))
        finally:
            with self._lock:
                self._items.end_bulk()
                self._stock.end_bulk()

    # ------------------------------------------------------------------ the protocol
    def checksums(self, entity: str, rng: PositionRange, parts: int) -> list[RangeDigest]:
        check_parts(rng, parts)
        if self.before_answer is not None:
            self.before_answer("checksum", entity, rng)
        with self._lock:
            self.calls.append(("checksum", entity, rng.start, rng.end, parts))
            return self._index(entity).checksums(rng, parts)

    def rows(self, entity: str, rng: PositionRange) -> list[Row]:
        if self.before_answer is not None:
            self.before_answer("rows", entity, rng)
        with self._lock:
            self.calls.append(("rows", entity, rng.start, rng.end, 0))
            return self._index(entity).in_range(rng)

    def _index(self, entity: str) -> _Index:
        if entity == "items":
            return self._items
        if entity == "stock":
            return self._stock
        raise ValueError(f"unknown entity {entity!r}: items or stock")


def make_item(sku: str, *, price: Decimal = Decimal("1.5"), unit: str = "KG", vat: str = "TVA20",
              name: str | None = None, active: bool = True, updated_at: datetime = BASE_TIME) -> Item:
    return Item(sku=sku, name=name or f"Item {sku}", description=None, unit_code=unit, vat_code=vat,
                family_code=None, subfamily_code=None, price=price, barcode=None, active=active,
                updated_at=updated_at)


def make_stock(sku: str, warehouse_id: str, quantity: Decimal, *, updated_at: datetime = BASE_TIME) -> StockLevel:
    return StockLevel(sku=sku, warehouse_id=warehouse_id, quantity=quantity, updated_at=updated_at)


def item_json(item: Item) -> dict[str, Any]:
    """An item in the push format (docs/agent-protocol.md#rows)."""
    out: dict[str, Any] = {
        "sku": item.sku, "name": item.name, "unitCode": item.unit_code, "vatCode": item.vat_code,
        "price": canonical_decimal(item.price), "active": item.active, "updatedAt": item.updated_at.isoformat(),
    }
    for name, value in (("description", item.description), ("familyCode", item.family_code),
                        ("subfamilyCode", item.subfamily_code), ("barcode", item.barcode)):
        if value is not None:
            out[name] = value
    return out


def stock_json(level: StockLevel) -> dict[str, Any]:
    return {"sku": level.sku, "warehouseId": level.warehouse_id, "quantity": canonical_decimal(level.quantity),
            "updatedAt": level.updated_at.isoformat()}
