"""Contract of the MappingRepository (``uow.mappings``): the ``erp_code_mappings`` table."""

from __future__ import annotations

import uuid

import pytest

from restosync_core.errors import Conflict
from restosync_core.model.ids import MappingId, VendorId
from restosync_core.model.mappings import Mapping, MappingResult, MappingType, NewMapping
from restosync_core.model.pagination import PageRequest
from restosync_core.ports.mappings import MappingFilter, SeedOutcome
from tests.contract.conftest import Store

pytestmark = pytest.mark.anyio

V1, V2 = VendorId("vendor-1"), VendorId("vendor-2")
KG = NewMapping(V1, MappingType.UNIT, "KG", "kilogram", "Kilogram")


async def created(store: Store, *rows: NewMapping) -> list[Mapping]:
    async with store.uow() as uow:
        return [await uow.mappings.create(row) for row in rows]


async def test_a_created_mapping_is_read_back_by_its_id(store: Store) -> None:
    (mapping,) = await created(store, KG)

    assert (mapping.vendor_id, mapping.mapping_type, mapping.erp_code) == (V1, MappingType.UNIT, "KG")
    assert (mapping.resto_code, mapping.resto_label, mapping.is_active) == ("kilogram", "Kilogram", True)
    async with store.uow() as uow:
        assert await uow.mappings.get(mapping.id) == mapping
        assert await uow.mappings.get(MappingId(uuid.uuid4())) is None


async def test_creating_a_key_that_exists_even_inactive_is_a_conflict(store: Store) -> None:
    await created(store, NewMapping(V1, MappingType.UNIT, "KG", "kilogram", is_active=False))

    with pytest.raises(Conflict):
        await created(store, KG)


async def test_replace_overwrites_every_field_and_answers_before_and_after(store: Store) -> None:
    (mapping,) = await created(store, KG)
    new = NewMapping(V2, MappingType.VAT, "21", "vat-21", None, is_active=False)

    async with store.uow() as uow:
        answer = await uow.mappings.replace(mapping.id, new)
        missing = await uow.mappings.replace(MappingId(uuid.uuid4()), new)

    assert answer is not None
    before, after = answer
    assert before == mapping
    assert after == Mapping(mapping.id, V2, MappingType.VAT, "21", "vat-21", None, False)
    assert missing is None


async def test_replacing_with_the_key_of_another_mapping_is_a_conflict(store: Store) -> None:
    kg, litre = await created(store, KG, NewMapping(V1, MappingType.UNIT, "L", "litre"))

    with pytest.raises(Conflict):
        async with store.uow() as uow:
            await uow.mappings.replace(litre.id, KG)
    async with store.uow() as uow:  # its own key is not a conflict
        answer = await uow.mappings.replace(kg.id, NewMapping(V1, MappingType.UNIT, "KG", "kg"))
    assert answer is not None and answer[1].resto_code == "kg"


async def test_delete_removes_the_row_and_answers_it_once_then_none(store: Store) -> None:
    (mapping,) = await created(store, KG)

    async with store.uow() as uow:
        first = await uow.mappings.delete(mapping.id)
        again = await uow.mappings.delete(mapping.id)
        missing = await uow.mappings.delete(MappingId(uuid.uuid4()))
        gone = await uow.mappings.get(mapping.id)

    assert first == mapping
    assert again is None and missing is None and gone is None


async def test_get_for_update_reads_the_same_row(store: Store) -> None:
    (mapping,) = await created(store, KG)
    async with store.uow() as uow:
        assert await uow.mappings.get(mapping.id, for_update=True) == mapping


async def test_list_filters_and_orders_by_vendor_type_and_erp_code(store: Store) -> None:
    await created(
        store,
        NewMapping(V2, MappingType.UNIT, "A", "a"),
        NewMapping(V1, MappingType.FAMILY, "F1", "f1"),
        NewMapping(V1, MappingType.VAT, "21", "vat-21", is_active=False),
        NewMapping(V1, MappingType.UNIT, "L", "litre"),
        NewMapping(V1, MappingType.UNIT, "KG", "kilogram"),
        NewMapping(V1, MappingType.SUBFAMILY, "S1", "s1"),
    )

    async with store.uow() as uow:
        everything = await uow.mappings.list(MappingFilter(), PageRequest(limit=100))
        page_2 = await uow.mappings.list(MappingFilter(vendor_id=V1), PageRequest(page=2, limit=2))
        units = await uow.mappings.list(MappingFilter(mapping_type=MappingType.UNIT), PageRequest())
        inactive = await uow.mappings.list(MappingFilter(is_active=False), PageRequest())

    assert [(m.vendor_id, m.mapping_type, m.erp_code) for m in everything.items] == [
        (V1, MappingType.FAMILY, "F1"),  # types in the order of their names
        (V1, MappingType.SUBFAMILY, "S1"),
        (V1, MappingType.UNIT, "KG"),
        (V1, MappingType.UNIT, "L"),
        (V1, MappingType.VAT, "21"),
        (V2, MappingType.UNIT, "A"),
    ]
    assert everything.total == 6
    assert [m.erp_code for m in page_2.items] == ["KG", "L"]
    assert (page_2.total, page_2.page, page_2.limit) == (5, 2, 2)
    assert [m.erp_code for m in units.items] == ["KG", "L", "A"]
    assert [m.erp_code for m in inactive.items] == ["21"]


async def test_upsert_many_creates_updates_and_leaves_unchanged_rows_and_counts_each(store: Store) -> None:
    await created(store, KG, NewMapping(V1, MappingType.UNIT, "L", "litre"))

    async with store.uow() as uow:
        outcome = await uow.mappings.upsert_many([
            KG,  # as stored
            NewMapping(V1, MappingType.UNIT, "L", "liter", "Liter"),  # changed
            NewMapping(V1, MappingType.VAT, "21", "vat-21"),  # new
        ])
        nothing = await uow.mappings.upsert_many([])
        stored = await uow.mappings.list(MappingFilter(vendor_id=V1), PageRequest())

    assert outcome == SeedOutcome(created=1, updated=1, unchanged=1)
    assert nothing == SeedOutcome(created=0, updated=0, unchanged=0)
    assert {(m.erp_code, m.resto_code, m.resto_label) for m in stored.items} == {
        ("KG", "kilogram", "Kilogram"), ("L", "liter", "Liter"), ("21", "vat-21", None)
    }


# ---------------------------------------------------------------- the resolver's lookup (MappingLookup)

async def test_the_lookup_answers_the_active_mappings_of_that_vendor_among_the_keys(store: Store) -> None:
    await created(
        store,
        KG,
        NewMapping(V1, MappingType.UNIT, "OLD", "old", is_active=False),
        NewMapping(V2, MappingType.UNIT, "L", "litre"),
        NewMapping(V1, MappingType.VAT, "KG", "vat-kg"),
        NewMapping(V1, MappingType.FAMILY, "F1", "f1"),
    )
    keys = [(MappingType.UNIT, "KG"), (MappingType.UNIT, "OLD"), (MappingType.UNIT, "L"), (MappingType.VAT, "KG"),
            (MappingType.UNIT, "NONE")]

    assert await store.lookup.find_active(V1, keys) == {
        (MappingType.UNIT, "KG"): MappingResult("kilogram", "Kilogram"),
        (MappingType.VAT, "KG"): MappingResult("vat-kg", None),
    }
    assert await store.lookup.find_active(V1, []) == {}


async def test_the_lookup_sees_only_what_was_committed(store: Store) -> None:
    with pytest.raises(RuntimeError):
        async with store.uow() as uow:
            await uow.mappings.create(KG)
            raise RuntimeError("rolled back")

    assert await store.lookup.find_active(V1, [(MappingType.UNIT, "KG")]) == {}


async def test_the_lookup_does_not_see_a_transaction_still_open(store: Store) -> None:
    async with store.uow() as uow:
        await uow.mappings.create(KG)
        seen = await store.lookup.find_active(V1, [(MappingType.UNIT, "KG")])

    assert seen == {}
