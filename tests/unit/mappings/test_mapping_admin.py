"""Admin use cases: create, update, delete, get, list and seed, against the fake unit of work."""

from __future__ import annotations

import uuid

import pytest

from restosync_core.errors import Conflict, NotFound, PayloadTooLarge, ValidationFailed
from restosync_core.model.ids import MappingId, VendorId
from restosync_core.model.mappings import MappingType
from restosync_core.model.pagination import PageRequest
from restosync_core.ports.mappings import MappingFilter
from restosync_core.use_cases.seed_mappings import SeedResult
from tests.fakes.mappings import mapping_table
from tests.unit.mappings.helpers import V1, V2, World, new, run


def test_create_stores_the_mapping_and_answers_it_with_an_id() -> None:
    world = World()
    created = run(world.services().create_mapping(new("KG", "kilogram")))
    assert run(world.services().get_mapping(created.id)) == created
    assert (created.vendor_id, created.erp_code, created.resto_code, created.is_active) == (V1, "KG", "kilogram", True)


def test_creating_the_same_vendor_type_and_code_twice_is_a_conflict_even_when_inactive() -> None:
    world = World()
    created = run(world.services().create_mapping(new("KG")))
    run(world.services().delete_mapping(created.id))
    with pytest.raises(Conflict):
        run(world.services().create_mapping(new("KG", "other")))
    assert len(mapping_table(world.db)) == 1


@pytest.mark.parametrize(
    ("mapping", "path"),
    [
        (new(vendor=VendorId("bad vendor")), "$.vendorId"),
        (new(erp_code=""), "$.erpCode"),
        (new(erp_code="   "), "$.erpCode"),
        (new(erp_code="X" * 65), "$.erpCode"),
        (new(resto_code=""), "$.restoCode"),
        (new(label="L" * 256), "$.restoLabel"),
    ],
)
def test_an_invalid_mapping_is_refused_naming_the_field(mapping: object, path: str) -> None:
    world = World()
    with pytest.raises(ValidationFailed) as caught:
        run(world.services().create_mapping(mapping))  # type: ignore[arg-type]
    assert caught.value.path == path
    assert mapping_table(world.db) == {}


def test_update_replaces_every_field() -> None:
    world = World()
    created = run(world.services().create_mapping(new("KG")))
    updated = run(world.services().update_mapping(
        created.id, new("KGM", "kg", mapping_type=MappingType.VAT, label=None, active=False),
    ))
    assert updated.id == created.id
    assert (updated.mapping_type, updated.erp_code, updated.resto_code, updated.resto_label, updated.is_active) == (
        MappingType.VAT, "KGM", "kg", None, False,
    )


def test_updating_an_unknown_id_is_not_found_and_writes_nothing() -> None:
    world = World()
    with pytest.raises(NotFound):
        run(world.services().update_mapping(MappingId(uuid.uuid4()), new()))
    assert mapping_table(world.db) == {}


def test_updating_onto_another_mappings_key_is_a_conflict_and_changes_nothing() -> None:
    world = World()
    run(world.services().create_mapping(new("KG", "kilogram")))
    litre = run(world.services().create_mapping(new("L", "litre")))
    with pytest.raises(Conflict):
        run(world.services().update_mapping(litre.id, new("KG", "litre")))
    assert mapping_table(world.db)[litre.id] == litre


def test_delete_is_a_soft_delete_and_repeating_it_is_harmless() -> None:
    world = World()
    created = run(world.services().create_mapping(new("KG")))
    deleted = run(world.services().delete_mapping(created.id))
    assert deleted.is_active is False
    assert run(world.services().delete_mapping(created.id)).is_active is False
    assert mapping_table(world.db)[created.id].is_active is False


def test_deleting_or_getting_an_unknown_id_is_not_found() -> None:
    world = World()
    with pytest.raises(NotFound):
        run(world.services().delete_mapping(MappingId(uuid.uuid4())))
    with pytest.raises(NotFound):
        run(world.services().get_mapping(MappingId(uuid.uuid4())))


def test_list_filters_by_vendor_type_and_activity_and_pages() -> None:
    world = World()
    rows = [new(f"U{i}", vendor=V1) for i in range(5)] + [
        new("TVA", mapping_type=MappingType.VAT, vendor=V1),
        new("U0", vendor=V2, active=False),
    ]
    run(world.services().seed_mappings(rows))
    where = MappingFilter(vendor_id=V1, mapping_type=MappingType.UNIT)
    page = run(world.services().list_mappings(where, PageRequest(2, 2)))
    assert (page.total, page.total_pages, [m.erp_code for m in page.items]) == (5, 3, ["U2", "U3"])
    inactive = run(world.services().list_mappings(MappingFilter(is_active=False), PageRequest()))
    assert [(m.vendor_id, m.erp_code) for m in inactive.items] == [(V2, "U0")]


def test_seed_counts_created_updated_and_unchanged_and_is_idempotent() -> None:
    world = World()
    first = run(world.services().seed_mappings([new("A", "a"), new("B", "b")]))
    assert first == SeedResult(created=2, updated=0, unchanged=0)
    second = run(world.services().seed_mappings([new("A", "a"), new("B", "b2"), new("C", "c")]))
    assert second == SeedResult(created=1, updated=1, unchanged=1)
    again = run(world.services().seed_mappings([new("A", "a"), new("B", "b2"), new("C", "c")]))
    assert again == SeedResult(created=0, updated=0, unchanged=3)
    assert len(mapping_table(world.db)) == 3


def test_seed_reactivates_a_soft_deleted_mapping() -> None:
    world = World()
    created = run(world.services().create_mapping(new("A", "a")))
    run(world.services().delete_mapping(created.id))
    assert run(world.services().seed_mappings([new("A", "a")])).updated == 1
    assert mapping_table(world.db)[created.id].is_active is True


def test_a_seed_with_one_invalid_row_writes_nothing_and_names_the_row_and_field() -> None:
    world = World()
    rows = [new("A"), new("B"), new("C"), new("D", resto_code=" "), new("E")]
    with pytest.raises(ValidationFailed) as caught:
        run(world.services().seed_mappings(rows))
    assert caught.value.path == "$.mappings[3].restoCode"
    assert mapping_table(world.db) == {}


def test_a_seed_repeating_a_key_is_refused_naming_the_repeat() -> None:
    world = World()
    rows = [new("A"), new("B"), new("A", "again")]
    with pytest.raises(ValidationFailed) as caught:
        run(world.services().seed_mappings(rows))
    assert caught.value.path == "$.mappings[2].erpCode"
    assert "row 0" in caught.value.message
    assert mapping_table(world.db) == {}


def test_the_same_code_for_two_vendors_or_two_types_is_not_a_repeat() -> None:
    world = World()
    rows = [new("A"), new("A", vendor=V2), new("A", mapping_type=MappingType.VAT)]
    assert run(world.services().seed_mappings(rows)).created == 3


def test_a_seed_over_the_maximum_is_refused_naming_the_maximum() -> None:
    world = World()
    with pytest.raises(PayloadTooLarge, match="at most 3 mappings"):
        run(world.services(seed_max_rows=3).seed_mappings([new(f"C{i}") for i in range(4)]))
    three = [new(f"C{i}") for i in range(3)]
    assert run(world.services(seed_max_rows=3).seed_mappings(three)).created == 3


def test_a_seed_failing_in_the_database_rolls_everything_back() -> None:
    world = World()

    class Boom(Exception):
        pass

    class Broken:
        async def generation_of(self, vendor_id: str) -> str:
            return "g"

        async def invalidate(self, vendor_ids: object) -> None:
            raise Boom

    with pytest.raises(Boom):
        run(world.services(mapping_invalidation=Broken()).seed_mappings([new("A"), new("B")]))
    assert mapping_table(world.db) == {}
