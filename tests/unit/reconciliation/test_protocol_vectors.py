"""The reconciliation protocol's test vectors (docs/agent-protocol.md#test-vectors-1), asserted against
``restosync_core.policies.reconciliation``, and the properties the protocol rests on.

The same vectors are checked over HTTP against the test agent (``tests/fake_agent.py``) by
``tests/integration/reconciliation/test_agent_client_reconciliation.py``, which reuses the rows and
the example answer defined here.
"""

from __future__ import annotations

import itertools
import json
import random
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from restosync_core.model.catalog import Item, StockLevel
from restosync_core.policies.content_hash import item_hash, stock_hash
from restosync_core.policies.reconciliation import (
    EMPTY_CHECKSUM,
    POSITION_SPACE,
    WHOLE,
    PositionRange,
    RangeDigest,
    combine,
    digest,
    digest_parts,
    position,
    xor_hex,
)

AT = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)

# ---------------------------------------------------------------- the vectors' rows (content hash vectors)

SKU_1 = Item(sku="SKU-1", name="Pommes Golden", description=None, unit_code="KG", vat_code="TVA5.5",
             family_code="FRUIT", subfamily_code=None, price=Decimal("2.50"), barcode="3012345678901",
             active=True, updated_at=AT)
CAFE_7 = Item(sku="CAFÉ-7", name='Café "crème"\tbio\n', description="Arabica 100% \\ origine: Éthiopie",
              unit_code="PC", vat_code="TVA20", family_code=None, subfamily_code=None, price=Decimal("0012.3400"),
              barcode=None, active=False, updated_at=AT)
STOCK_WH_01 = StockLevel(sku="SKU-1", warehouse_id="WH-01", quantity=Decimal("12.000"), updated_at=AT)
STOCK_WH_02 = StockLevel(sku="SKU-1", warehouse_id="WH-02", quantity=Decimal("-0.000"), updated_at=AT)
VECTOR_ITEMS = (SKU_1, CAFE_7)
VECTOR_STOCK = (STOCK_WH_01, STOCK_WH_02)

SKU_1_HASH = "bd4d18155817e38a0df4ebb697270847c2242e8fdec0c14a563fa7922944707b"
CAFE_7_HASH = "0500bd8dc7c1084945a35ddf38e032585acc1ad77ab1d56af39dac226bc00eb6"
WH_01_HASH = "fc1f91a38549c5d8c0817c462a1b70a98fa7e3c222bf127914d3648cb77e4485"
WH_02_HASH = "9cff8ff81f49b6e3b5d8e1e1b73c0a1da69e4937c20f5db6d1cb062e7be39734"
ITEMS_CHECKSUM = "b84da5989fd6ebc34857b669afc73a1f98e83458a4711420a5a20bb042847ecd"
STOCK_CHECKSUM = "60e01e5b9a00733b75599da79d277ab42939aaf5e0b04fcfc51862a2cc9dd3b1"

EXAMPLE_ANSWER_TEXT = """
{"entity": "items", "from": 0, "to": 4294967296, "count": 2,
 "checksum": "b84da5989fd6ebc34857b669afc73a1f98e83458a4711420a5a20bb042847ecd",
 "parts": [{"count": 1, "checksum": "0500bd8dc7c1084945a35ddf38e032585acc1ad77ab1d56af39dac226bc00eb6"},
           {"count": 1, "checksum": "bd4d18155817e38a0df4ebb697270847c2242e8fdec0c14a563fa7922944707b"},
           {"count": 0, "checksum": "0000000000000000000000000000000000000000000000000000000000000000"},
           {"count": 0, "checksum": "0000000000000000000000000000000000000000000000000000000000000000"}]}
"""
"""The documented answer to ``GET /sync/checksum?entity=items&from=0&to=4294967296&parts=4`` for the two items."""
EXAMPLE_ANSWER: dict[str, Any] = json.loads(EXAMPLE_ANSWER_TEXT)


def pairs(rows: tuple[Item, ...] | tuple[StockLevel, ...]) -> list[tuple[int, str]]:
    return [(position(r.sku), item_hash(r) if isinstance(r, Item) else stock_hash(r)) for r in rows]


# ---------------------------------------------------------------- the vectors


def test_the_rows_hash_to_the_content_hash_vectors() -> None:
    assert [item_hash(SKU_1), item_hash(CAFE_7)] == [SKU_1_HASH, CAFE_7_HASH]
    assert [stock_hash(STOCK_WH_01), stock_hash(STOCK_WH_02)] == [WH_01_HASH, WH_02_HASH]


def test_positions() -> None:
    assert position("SKU-1") == 1975234806
    assert position("SKU-2") == 1900207198
    assert position("CAFÉ-7") == 1002144340
    assert "CAFÉ-7".encode()[3:5] == b"\xc3\x89"  # the É as UTF-8, not normalised away
    assert position("SKU-1 ") == 3798179661
    assert all(position(r.sku) == position("SKU-1") for r in VECTOR_STOCK)  # stock shares its item's position


def test_the_sha256_prefixes_named_in_the_table() -> None:
    from hashlib import sha256

    assert sha256(b"SKU-1").hexdigest().startswith("75bbb0f6")
    assert sha256(b"SKU-2").hexdigest().startswith("7142dc5e")
    assert sha256("CAFÉ-7".encode()).hexdigest().startswith("3bbb8254")
    assert int("75bbb0f6", 16) == 1975234806


def test_the_whole_set_split_in_3() -> None:
    assert PositionRange(0, 4294967296) == WHOLE and POSITION_SPACE == 4294967296
    assert WHOLE.split(3) == [
        PositionRange(0, 1431655766), PositionRange(1431655766, 2863311531), PositionRange(2863311531, 4294967296)
    ]


def test_a_small_range_split_in_3_and_the_child_of_each_position() -> None:
    rng = PositionRange(10, 17)
    assert rng.split(3) == [PositionRange(10, 13), PositionRange(13, 15), PositionRange(15, 17)]
    assert [rng.child_of(p, 3) for p in range(10, 17)] == [0, 0, 0, 1, 1, 2, 2]


def test_the_checksum_of_the_two_items_and_of_the_two_stock_rows() -> None:
    assert xor_hex([SKU_1_HASH, CAFE_7_HASH]) == ITEMS_CHECKSUM
    assert xor_hex([WH_01_HASH, WH_02_HASH]) == STOCK_CHECKSUM
    assert digest_parts(WHOLE, 1, pairs(VECTOR_ITEMS)) == [RangeDigest(2, ITEMS_CHECKSUM)]
    assert digest_parts(WHOLE, 1, pairs(VECTOR_STOCK)) == [RangeDigest(2, STOCK_CHECKSUM)]


def test_the_two_items_in_4_parts_are_the_documented_answer() -> None:
    parts = digest_parts(WHOLE, 4, pairs(VECTOR_ITEMS))
    assert [p.count for p in parts] == [1, 1, 0, 0]
    assert WHOLE.child_of(position("CAFÉ-7"), 4) == 0 and WHOLE.child_of(position("SKU-1"), 4) == 1
    assert [{"count": p.count, "checksum": p.checksum} for p in parts] == EXAMPLE_ANSWER["parts"]
    whole = combine(parts)
    assert (whole.count, whole.checksum) == (EXAMPLE_ANSWER["count"], EXAMPLE_ANSWER["checksum"])
    assert (EXAMPLE_ANSWER["entity"], EXAMPLE_ANSWER["from"], EXAMPLE_ANSWER["to"]) == ("items", 0, 4294967296)


def test_an_empty_range() -> None:
    assert EMPTY_CHECKSUM == "0" * 64
    assert digest([]) == RangeDigest(0, "0" * 64)
    assert digest_parts(PositionRange(0, 1000), 1, pairs(VECTOR_ITEMS)) == [RangeDigest(0, "0" * 64)]


# ---------------------------------------------------------------- properties

@st.composite
def ranges_and_parts(draw: st.DrawFn) -> tuple[PositionRange, int]:
    start = draw(st.one_of(st.integers(0, POSITION_SPACE - 1), st.sampled_from([0, POSITION_SPACE - 300])))
    narrow = st.integers(start + 1, min(start + 300, POSITION_SPACE))
    end = draw(st.one_of(st.integers(start + 1, POSITION_SPACE), narrow))
    rng = PositionRange(start, end)
    return rng, draw(st.integers(1, min(256, rng.width)))


hashes = st.binary(min_size=32, max_size=32).map(bytes.hex)


@st.composite
def rows_in(draw: st.DrawFn, rng: PositionRange) -> list[tuple[int, str]]:
    """(position, content hash) pairs, most inside ``rng``, some outside, some on its bounds."""
    positions = st.one_of(
        st.integers(rng.start, rng.end - 1),
        st.sampled_from([rng.start, rng.end - 1]),
        st.integers(0, POSITION_SPACE - 1),
    )
    return draw(st.lists(st.tuples(positions, hashes), max_size=40))


@given(ranges_and_parts(), st.data())
def test_split_children_tile_the_range_and_child_of_agrees_with_their_bounds(
    case: tuple[PositionRange, int], data: st.DataObject
) -> None:
    rng, k = case
    children = rng.split(k)
    assert len(children) == k
    assert children[0].start == rng.start and children[-1].end == rng.end
    assert all(a.end == b.start for a, b in itertools.pairwise(children))
    assert all(c.width >= 1 for c in children)
    probes = {rng.start, rng.end - 1, *(c.start for c in children), *(c.end - 1 for c in children)}
    probes.add(data.draw(st.integers(rng.start, rng.end - 1)))
    for p in probes:
        i = rng.child_of(p, k)
        assert 0 <= i < k and children[i].contains(p), (p, i)


@given(ranges_and_parts().flatmap(lambda case: st.tuples(st.just(case), rows_in(case[0]))), st.data())
def test_the_digest_of_a_set_is_the_combine_of_any_split_of_it(
    case: tuple[tuple[PositionRange, int], list[tuple[int, str]]], data: st.DataObject
) -> None:
    (rng, k), rows = case
    whole = digest_parts(rng, 1, rows)[0]
    inside = [h for p, h in rows if rng.contains(p)]
    assert whole == digest(inside)
    parts = digest_parts(rng, k, rows)
    assert combine(parts) == whole
    # one level deeper: a child's own split combines to that child's digest
    i = data.draw(st.integers(0, k - 1))
    child = rng.split(k)[i]
    m = data.draw(st.integers(1, min(256, child.width)))
    assert combine(digest_parts(child, m, rows)) == parts[i]


@given(st.lists(st.tuples(st.integers(0, POSITION_SPACE - 1), hashes), max_size=40), st.randoms(use_true_random=False),
       st.integers(1, 256))
def test_the_checksum_does_not_depend_on_the_order_of_the_rows(
    rows: list[tuple[int, str]], rnd: random.Random, k: int
) -> None:
    shuffled = list(rows)
    rnd.shuffle(shuffled)
    assert digest_parts(WHOLE, k, shuffled) == digest_parts(WHOLE, k, rows)
    assert xor_hex(h for _, h in shuffled) == xor_hex(h for _, h in rows)
