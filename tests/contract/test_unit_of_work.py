"""Contract of the UnitOfWork: leaving the block commits, an exception rolls everything back;
in autocommit mode every statement commits on its own."""

from __future__ import annotations

from datetime import timedelta

import pytest

from restosync_core.model.agents import OutboundCredential
from restosync_core.model.ids import VendorId
from restosync_core.ports.agents import NewRegistration
from tests.contract.conftest import T0, Store

pytestmark = pytest.mark.anyio

V1, V2 = VendorId("vendor-1"), VendorId("vendor-2")


def registration(vendor: VendorId) -> NewRegistration:
    return NewRegistration(vendor, "http://agent.example:8080", "hash", "1.0", T0, OutboundCredential.issue())


class Boom(Exception):
    pass


async def test_what_a_block_writes_is_visible_to_the_next_one_after_it_ends(store: Store) -> None:
    async with store.uow() as uow:
        await uow.agents.insert(registration(V1))

    async with store.uow() as uow:
        agent = await uow.agents.get(V1)
    assert agent is not None and agent.vendor_id == V1


async def test_nothing_a_block_wrote_is_visible_after_it_raised(store: Store) -> None:
    async with store.uow() as uow:
        await uow.agents.insert(registration(V1))

    with pytest.raises(Boom):
        async with store.uow() as uow:
            await uow.agents.insert(registration(V2))
            await uow.agents.update(V1, agent_url="http://moved.example", settings=None, at=T0 + timedelta(1))
            assert await uow.agents.get(V2) is not None  # visible inside its own transaction
            raise Boom

    async with store.uow() as uow:
        assert await uow.agents.get(V2) is None
        kept = await uow.agents.get(V1)
    assert kept is not None and kept.agent_url == "http://agent.example:8080"


async def test_a_rollback_undoes_every_repository_of_the_block_not_just_one(store: Store) -> None:
    with pytest.raises(Boom):
        async with store.uow() as uow:
            await uow.agents.insert(registration(V1))
            from restosync_core.model.mappings import MappingType, NewMapping

            await uow.mappings.create(NewMapping(V1, MappingType.UNIT, "KG", "kilogram"))
            raise Boom

    async with store.uow() as uow:
        assert await uow.agents.all() == []
        from restosync_core.model.pagination import PageRequest
        from restosync_core.ports.mappings import MappingFilter

        assert (await uow.mappings.list(MappingFilter(), PageRequest())).total == 0


async def test_in_autocommit_mode_each_write_is_seen_at_once_and_an_exception_undoes_nothing(store: Store) -> None:
    with pytest.raises(Boom):
        async with store.uow(autocommit=True) as uow:
            await uow.agents.insert(registration(V1))
            async with store.uow() as other:  # another connection sees it before the block ends
                assert await other.agents.get(V1) is not None
            raise Boom

    async with store.uow() as uow:
        assert await uow.agents.get(V1) is not None
