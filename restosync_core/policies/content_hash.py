"""The canonical content hash of a pushed row: what "unchanged" means, byte for byte.

A row's hash is the lowercase hex SHA-256 of the UTF-8 bytes of a compact JSON
array: the entity's tag, then its content fields in a fixed order. ``updatedAt``
is not content, so it is left out: a row touched in the ERP but otherwise equal
hashes the same. ``docs/agent-protocol.md`` specifies the format with test
vectors; agents and the reconciliation engine compute the same bytes.

- strings are JSON strings as ``JSON.stringify`` writes them (no whitespace,
  non-ASCII kept as is; only ``"``, ``\\`` and control characters escaped);
- an absent optional field and ``null`` are the same: ``null``;
- booleans are ``true`` / ``false``;
- decimals are JSON strings in their shortest plain form (see ``canonical_decimal``).
"""

from __future__ import annotations

from decimal import Decimal
from hashlib import sha256
from json.encoder import encode_basestring as _json_string  # the C escaper json.dumps uses

from restosync_core.model.catalog import Item, StockLevel, Warehouse

ITEM_FIELDS = (
    "sku", "name", "description", "unitCode", "vatCode", "familyCode", "subfamilyCode",
    "price", "barcode", "active",
)
STOCK_FIELDS = ("sku", "warehouseId", "quantity")
WAREHOUSE_FIELDS = ("warehouseId", "name", "address", "active")


def canonical_decimal(value: Decimal) -> str:
    """The shortest plain form: no exponent, no sign on zero, no leading or trailing zeros.

    ``Decimal("018.50")`` -> ``"18.5"``, ``Decimal("1E+2")`` -> ``"100"``,
    ``Decimal("-0.00")`` -> ``"0"``, ``Decimal("0.10")`` -> ``"0.1"``.
    """
    if not value:
        return "0"
    text = f"{value:f}"  # plain notation, never an exponent
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _opt(value: str | None) -> str:
    return "null" if value is None else _json_string(value)


def _bool(value: bool) -> str:
    return "true" if value else "false"


def canonical_item(item: Item) -> str:
    return (
        f'["item",{_json_string(item.sku)},{_json_string(item.name)},{_opt(item.description)},'
        f"{_json_string(item.unit_code)},{_json_string(item.vat_code)},{_opt(item.family_code)},"
        f'{_opt(item.subfamily_code)},"{canonical_decimal(item.price)}",{_opt(item.barcode)},'
        f"{_bool(item.active)}]"
    )


def canonical_stock(level: StockLevel) -> str:
    return (
        f'["stock",{_json_string(level.sku)},{_json_string(level.warehouse_id)},'
        f'"{canonical_decimal(level.quantity)}"]'
    )


def canonical_warehouse(warehouse: Warehouse) -> str:
    return (
        f'["warehouse",{_json_string(warehouse.warehouse_id)},{_json_string(warehouse.name)},'
        f"{_opt(warehouse.address)},{_bool(warehouse.active)}]"
    )


def _digest(canonical: str) -> str:
    return sha256(canonical.encode("utf-8")).hexdigest()


def item_hash(item: Item) -> str:
    return _digest(canonical_item(item))


def stock_hash(level: StockLevel) -> str:
    return _digest(canonical_stock(level))


def warehouse_hash(warehouse: Warehouse) -> str:
    return _digest(canonical_warehouse(warehouse))
