"""The canonical content hash: its test vectors, what it ignores and what it notices."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from decimal import Decimal

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from restosync_core.policies.content_hash import (
    canonical_decimal,
    canonical_item,
    canonical_stock,
    canonical_warehouse,
    item_hash,
    stock_hash,
    warehouse_hash,
)
from restosync_http.dto.ingest import ItemsPush
from tests.unit.ingest.helpers import at, item, level, warehouse

# The vectors published in docs/agent-protocol.md: agents must produce these exact bytes and digests.
VECTORS = [
    (
        item("SKU-1", name="Pommes Golden", vat_code="TVA5.5", price=Decimal("2.50"), barcode="3012345678901"),
        canonical_item, item_hash,
        '["item","SKU-1","Pommes Golden",null,"KG","TVA5.5","FRUIT",null,"2.5","3012345678901",true]',
        "bd4d18155817e38a0df4ebb697270847c2242e8fdec0c14a563fa7922944707b",
    ),
    (
        item("CAFÉ-7", name='Café "crème"\tbio\n', description="Arabica 100% \\ origine: Éthiopie",
             unit_code="PC", vat_code="TVA20", family_code=None, price=Decimal("0012.3400"), active=False),
        canonical_item, item_hash,
        '["item","CAFÉ-7","Café \\"crème\\"\\tbio\\n","Arabica 100% \\\\ origine: Éthiopie","PC","TVA20",'
        'null,null,"12.34",null,false]',
        "0500bd8dc7c1084945a35ddf38e032585acc1ad77ab1d56af39dac226bc00eb6",
    ),
    (
        level("SKU-1", "WH-01", "12.000"), canonical_stock, stock_hash,
        '["stock","SKU-1","WH-01","12"]',
        "fc1f91a38549c5d8c0817c462a1b70a98fa7e3c222bf127914d3648cb77e4485",
    ),
    (
        level("SKU-1", "WH-02", "-0.000"), canonical_stock, stock_hash,
        '["stock","SKU-1","WH-02","0"]',
        "9cff8ff81f49b6e3b5d8e1e1b73c0a1da69e4937c20f5db6d1cb062e7be39734",
    ),
    (
        warehouse("WH-01", name="Entrepôt Nord", address="1 rue de la Paix, Lille"),
        canonical_warehouse, warehouse_hash,
        '["warehouse","WH-01","Entrepôt Nord","1 rue de la Paix, Lille",true]',
        "25b9e720b65ba8f633a36be76a9097020a20b4b87fc6770070d775921504eebf",
    ),
]


def test_the_published_vectors_give_their_canonical_bytes_and_digests() -> None:
    for row, canonical, digest, expected_text, expected_hex in VECTORS:
        assert canonical(row) == expected_text
        assert digest(row) == expected_hex


def test_the_canonical_form_is_the_compact_json_array_any_json_library_writes() -> None:
    for row, canonical, *_ in VECTORS:
        text = canonical(row)
        assert json.dumps(json.loads(text), ensure_ascii=False, separators=(",", ":")) == text


def test_decimals_have_one_shortest_plain_form() -> None:
    cases = {"18.50": "18.5", "018.5": "18.5", "1E+2": "100", "100": "100", "-0.00": "0", "0.10": "0.1",
             "-1.2500": "-1.25", "0": "0", "0.0001": "0.0001"}
    for given_text, expected in cases.items():
        assert canonical_decimal(Decimal(given_text)) == expected, given_text


@given(st.integers(min_value=0, max_value=10**6), st.integers(min_value=0, max_value=10**6))
def test_the_hash_ignores_updated_at(first: int, second: int) -> None:
    assert item_hash(item(minutes=first)) == item_hash(item(minutes=second))
    assert stock_hash(level(minutes=first)) == stock_hash(level(minutes=second))
    assert warehouse_hash(warehouse(minutes=first)) == warehouse_hash(warehouse(minutes=second))


@given(st.decimals(min_value=0, max_value=10**9, places=4, allow_nan=False, allow_infinity=False),
       st.integers(min_value=0, max_value=3))
def test_equal_decimals_written_differently_hash_the_same(price: Decimal, extra_zeros: int) -> None:
    padded = Decimal(f"{price:f}" + ("0" * extra_zeros if "." in f"{price:f}" else ""))
    assert item_hash(item(price=price)) == item_hash(item(price=padded))


CHANGES = {
    "sku": "SKU-2", "name": "Other", "description": "", "unit_code": "LB", "vat_code": "TVA5.5",
    "family_code": None, "subfamily_code": "RED", "price": Decimal("18.51"), "barcode": "1", "active": False,
}


def test_every_content_field_changes_the_hash() -> None:
    base = item()
    for field, value in CHANGES.items():
        assert item_hash(replace(base, **{field: value})) != item_hash(base), field
    assert stock_hash(level(quantity="5")) != stock_hash(level(quantity="5.0001"))
    assert warehouse_hash(warehouse()) != warehouse_hash(warehouse(address="somewhere"))


def test_null_and_empty_text_are_different_contents() -> None:
    assert item_hash(item(description=None)) != item_hash(item(description=""))


def _decoded_item_hash(fields: dict[str, object]) -> str:
    body = msgspec.json.encode({"items": [fields]})
    push = msgspec.json.decode(body, type=ItemsPush)
    return item_hash(push.to_items()[0])


@given(st.randoms(use_true_random=False))
def test_the_order_of_keys_in_the_pushed_json_does_not_matter(rnd: random.Random) -> None:
    fields: dict[str, object] = {
        "sku": "SKU-1", "name": "Pommes", "description": "Golden", "unitCode": "KG", "vatCode": "TVA20",
        "familyCode": "FRUIT", "price": "2.50", "barcode": "301", "active": True,
        "updatedAt": at(0).isoformat(),
    }
    keys = list(fields)
    rnd.shuffle(keys)
    assert _decoded_item_hash({k: fields[k] for k in keys}) == _decoded_item_hash(fields)


def test_an_absent_optional_field_hashes_like_null_and_active_defaults_to_true() -> None:
    minimal = {"sku": "S", "name": "N", "unitCode": "KG", "vatCode": "V", "price": "1",
               "updatedAt": at(0).isoformat()}
    explicit = {**minimal, "description": None, "familyCode": None, "subfamilyCode": None, "barcode": None,
                "active": True}
    assert _decoded_item_hash(minimal) == _decoded_item_hash(explicit)
