"""Every hypothesis strategy that more than one test module draws from (one place to find and change them)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import strategies as st

from restosync_core.model.catalog import Item

# ---------------------------------------------------------------- catalogue (ingest)

INGEST_T0 = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
"""The ingest tests' first instant (``tests.unit.ingest.helpers.at(0)``)."""

texts = st.text(min_size=1, max_size=12)
optional_texts = st.none() | st.text(max_size=12)
decimals = st.decimals(min_value=0, max_value=10**6, places=4, allow_nan=False, allow_infinity=False)
instants = st.integers(min_value=0, max_value=5).map(lambda minutes: INGEST_T0 + timedelta(minutes=minutes))
"""A few instants, minutes apart, so equal, older and newer ``updatedAt`` all happen."""

FEW_SKUS = st.sampled_from(["A", "B", "C", "D"])


@st.composite
def items(draw: st.DrawFn, skus: st.SearchStrategy[str] = FEW_SKUS) -> Item:
    """Items over few skus and codes, so duplicates, equal contents and unmapped codes all happen."""
    return Item(
        sku=draw(skus), name=draw(st.sampled_from(["apple", "pear"])), description=draw(optional_texts),
        unit_code=draw(st.sampled_from(["KG", "KG", "LB"])), vat_code=draw(st.sampled_from(["TVA20", "TVA20", "X"])),
        family_code=draw(st.none() | st.sampled_from(["FRUIT", "NOPE"])), subfamily_code=None,
        price=draw(st.sampled_from([Decimal("1"), Decimal("1.50"), Decimal("2")])), barcode=None,
        active=draw(st.booleans()), updated_at=draw(instants),
    )


# ---------------------------------------------------------------- agent registry

REGISTRY_TOKENS = [f"token-{i}-" + "t" * 32 for i in range(3)]
"""The tokens agents register with (long enough for the token rules); none may ever be stored."""

RegistryOp = tuple[str, str | None, str | None, str | None]
"""(operation, vendor, token, current token): ``register``, ``heartbeat``, ``deregister`` or ``tick``."""


def registry_operations(
    vendors: Sequence[str], *, max_size: int, ticks: bool = False
) -> st.SearchStrategy[list[RegistryOp]]:
    """Sequences of registrations (with or without the current token), heartbeats, deregistrations
    and, with ``ticks``, time passing, over ``vendors`` and ``REGISTRY_TOKENS``."""
    tokens = st.sampled_from(REGISTRY_TOKENS)
    vendor = st.sampled_from(list(vendors))
    operation: list[st.SearchStrategy[RegistryOp]] = [
        st.tuples(st.just("register"), vendor, tokens, st.none() | tokens),
        st.tuples(st.just("heartbeat"), vendor, st.none(), st.none()),
        st.tuples(st.just("deregister"), vendor, st.none(), st.none()),
    ]
    if ticks:
        operation.append(st.tuples(st.just("tick"), st.none(), st.none(), st.none()))
    return st.lists(st.one_of(operation), max_size=max_size)
