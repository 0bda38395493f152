"""Admin use cases: create, update, delete, get, list and seed, against the fake unit of work."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest

from restosync_core.errors import Conflict, NotFound, PayloadTooLarge, ValidationFailed
from restosync_core.model.audit import AuditEntry, RequestContext
from restosync_core.model.ids import MappingId, VendorId
from restosync_core.model.mappings import MappingChanges, MappingType
from restosync_core.model.pagination import PageRequest
from restosync_core.ports.mappings import MappingFilter
from restosync_core.use_cases.seed_mappings import SeedResult
from tests.fakes.audit import AUDIT
from tests.fakes.mappings import mapping_table
from tests.unit.mappings.helpers import V1, V2, World, every_field, new, run


def test_create_stores_the_mapping_and_answers_it_with_an_id() -> None:
    world = World()
    created = run(world.services().create_mapping(new("KG", "kilogram")))
    assert run(world.services().get_mapping(created.id)) == created
    assert (created.vendor_id, created.erp_code, created.resto_code, created.is_active) == (V1, "KG", "kilogram", True)


def test_creating_the_same_vendor_type_and_code_twice_is_a_conflict_even_when_inactive() -> None:
    world = World()
    created = run(world.services().create_mapping(new("KG")))
    run(world.services().update_mapping(created.id, MappingChanges(is_active=False)))
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


def test_update_replaces_every_field_it_is_given() -> None:
    world = World()
    created = run(world.services().create_mapping(new("KG")))
    updated = run(world.services().update_mapping(
        created.id, every_field(new("KGM", "kg", mapping_type=MappingType.VAT, label=None, active=False)),
    ))
    assert updated.id == created.id
    assert (updated.mapping_type, updated.erp_code, updated.resto_code, updated.resto_label, updated.is_active) == (
        MappingType.VAT, "KGM", "kg", None, False,
    )


def test_an_update_with_only_a_label_changes_the_label_and_nothing_else() -> None:
    world = World()
    created = run(world.services().create_mapping(new("KG", "kilogram", label="Kilogramme")))
    updated = run(world.services().update_mapping(created.id, MappingChanges(resto_label="Kilo (kg)")))
    assert updated == replace(created, resto_label="Kilo (kg)")
    assert mapping_table(world.db)[created.id] == updated


@pytest.mark.parametrize(
    ("changes", "field", "value"),
    [
        (MappingChanges(resto_code="kg"), "resto_code", "kg"),
        (MappingChanges(resto_label=None), "resto_label", None),
        (MappingChanges(is_active=False), "is_active", False),
    ],
)
def test_each_field_can_change_alone(changes: MappingChanges, field: str, value: object) -> None:
    world = World()
    created = run(world.services().create_mapping(new("KG", "kilogram", label="Kilogramme")))
    updated = run(world.services().update_mapping(created.id, changes))
    assert updated == replace(created, **{field: value})


def test_an_update_that_changes_nothing_is_refused() -> None:
    world = World()
    created = run(world.services().create_mapping(new("KG")))
    with pytest.raises(ValidationFailed) as caught:
        run(world.services().update_mapping(created.id, MappingChanges()))
    assert caught.value.path == "$"


def test_an_update_to_a_blank_code_is_refused_naming_the_field_and_changes_nothing() -> None:
    world = World()
    created = run(world.services().create_mapping(new("KG")))
    with pytest.raises(ValidationFailed) as caught:
        run(world.services().update_mapping(created.id, MappingChanges(resto_code="  ")))
    assert caught.value.path == "$.restoCode"
    assert mapping_table(world.db)[created.id] == created


def test_updating_an_unknown_id_is_not_found_and_writes_nothing() -> None:
    world = World()
    with pytest.raises(NotFound):
        run(world.services().update_mapping(MappingId(uuid.uuid4()), MappingChanges(resto_label="x")))
    assert mapping_table(world.db) == {}


def test_updating_onto_another_mappings_key_is_a_conflict_and_changes_nothing() -> None:
    world = World()
    run(world.services().create_mapping(new("KG", "kilogram")))
    litre = run(world.services().create_mapping(new("L", "litre")))
    with pytest.raises(Conflict):
        run(world.services().update_mapping(litre.id, MappingChanges(erp_code="KG")))
    assert mapping_table(world.db)[litre.id] == litre


def test_writes_are_audited_with_the_request_and_the_mapping() -> None:
    world = World()
    context = RequestContext("req-1", "10.0.0.9")
    created = run(world.services().create_mapping(new("KG", "kilogram"), context=context))
    run(world.services().update_mapping(created.id, MappingChanges(resto_label="Kilo"), context=context))
    run(world.services().delete_mapping(created.id, context=context))
    entries: list[AuditEntry] = world.db.table(AUDIT, list)
    assert [(e.action, e.entity_type, e.entity_id, e.context) for e in entries] == [
        ("mapping.created", "mapping", str(created.id), context),
        ("mapping.updated", "mapping", str(created.id), context),
        ("mapping.deleted", "mapping", str(created.id), context),
    ]
    assert entries[1].details["before"] == {**entries[2].details["mapping"], "restoLabel": "Kilogramme"}  # type: ignore[dict-item]
    assert entries[2].details["mapping"] == {
        "vendorId": V1, "mappingType": "unit", "erpCode": "KG", "restoCode": "kilogram", "restoLabel": "Kilo",
        "isActive": True,
    }
    assert all(e.created_at == world.clock.now() for e in entries)


def test_delete_removes_the_mapping_and_a_second_delete_is_not_found() -> None:
    world = World()
    created = run(world.services().create_mapping(new("KG")))
    deleted = run(world.services().delete_mapping(created.id))
    assert deleted == created
    assert created.id not in mapping_table(world.db)
    with pytest.raises(NotFound):
        run(world.services().get_mapping(created.id))
    with pytest.raises(NotFound):
        run(world.services().delete_mapping(created.id))


def test_a_deleted_key_can_be_created_again() -> None:
    world = World()
    created = run(world.services().create_mapping(new("KG")))
    run(world.services().delete_mapping(created.id))
    again = run(world.services().create_mapping(new("KG", "kg")))
    assert again.id != created.id


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


def test_seed_reactivates_an_inactive_mapping() -> None:
    world = World()
    created = run(world.services().create_mapping(new("A", "a")))
    run(world.services().update_mapping(created.id, MappingChanges(is_active=False)))
    assert run(world.services().seed_mappings([new("A", "a")])).updated == 1
    assert mapping_table(world.db)[created.id].is_active is True


def test_a_seed_with_one_invalid_row_writes_nothing_and_names_the_row_and_field() -> None:
    world = World()
    rows = [new("A"), new("B"), new("C"), new("D", resto_code=" "), new("E")]
    with pytest.raises(ValidationFailed) as caught:
        run(world.services().seed_mappings(rows))
    assert caught.value.path == "$.mappings[3].restoCode"
    assert mapping_table(world.db) == {}


def test_a_seed_repeating_a_row_is_refused_naming_the_repeat() -> None:
    world = World()
    rows = [new("A"), new("B"), new("A")]
    with pytest.raises(ValidationFailed) as caught:
        run(world.services().seed_mappings(rows))
    assert caught.value.path == "$.mappings[2].erpCode"
    assert "row 0" in caught.value.message
    assert mapping_table(world.db) == {}


def test_a_seed_giving_one_key_two_values_is_a_conflict_naming_both_rows() -> None:
    world = World()
    rows = [new("A"), new("B"), new("A", "again")]
    with pytest.raises(Conflict) as caught:
        run(world.services().seed_mappings(rows))
    assert caught.value.detail == {"path": "$.mappings[2].erpCode", "row": 0}
    assert "row 2" in caught.value.message and "row 0" in caught.value.message
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
