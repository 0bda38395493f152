"""Contract of the AgentRepository (``uow.agents``): the ``agent_registry`` table, one row per vendor."""

from __future__ import annotations

from datetime import timedelta

import pytest

from restosync_core.model.agents import Agent, AgentStatus, OutboundCredential
from restosync_core.model.ids import VendorId
from restosync_core.model.pagination import PageRequest
from restosync_core.policies.agent_health import StatusTransition
from restosync_core.ports.agents import Heartbeat, NewRegistration
from tests.contract.conftest import T0, Store

pytestmark = pytest.mark.anyio

V1, V2, V3 = VendorId("vendor-1"), VendorId("vendor-2"), VendorId("vendor-3")
URL = "http://agent.example:8080"


def registration(vendor: VendorId, *, at_s: int = 0, version: str | None = "1.0", url: str = URL) -> NewRegistration:
    at = T0 + timedelta(seconds=at_s)
    return NewRegistration(vendor, url, f"hash-of-{vendor}", version, at, OutboundCredential.issue())


async def registered(store: Store, *vendors: VendorId) -> list[Agent]:
    async with store.uow() as uow:
        agents = [await uow.agents.insert(registration(v)) for v in vendors]
    assert all(a is not None for a in agents)
    return [a for a in agents if a is not None]


async def set_status(store: Store, vendor: VendorId, status: AgentStatus, at_s: int) -> None:
    async with store.uow() as uow:
        agent = await uow.agents.get(vendor)
        assert agent is not None
        transition = StatusTransition(
            agent_id=agent.id, vendor_id=vendor, from_status=agent.status, to_status=status,
            last_seen_at=agent.last_seen_at, at=T0 + timedelta(seconds=at_s),
        )
        assert await uow.agents.apply_transitions([transition]) == [transition]


async def test_a_new_agent_is_stored_online_heard_from_at_its_registration(store: Store) -> None:
    (agent,) = await registered(store, V1)

    assert (agent.vendor_id, agent.agent_url, agent.version) == (V1, URL, "1.0")
    assert agent.auth_token_hash == "hash-of-vendor-1"
    assert agent.status is AgentStatus.ONLINE
    assert agent.last_heartbeat_at == agent.registered_at == agent.updated_at == agent.status_changed_at == T0
    assert agent.settings == {}
    async with store.uow() as uow:
        assert await uow.agents.get(V1) == agent
        assert await uow.agents.get_for_update(V1) == agent
        assert await uow.agents.get(V2) is None


async def test_inserting_a_vendor_that_has_an_agent_answers_none_and_changes_nothing(store: Store) -> None:
    (agent,) = await registered(store, V1)

    async with store.uow() as uow:
        assert await uow.agents.insert(registration(V1, at_s=5, url="http://other.example")) is None
        assert await uow.agents.get(V1) == agent


async def test_a_reregistration_replaces_url_and_token_and_counts_as_a_heartbeat(store: Store) -> None:
    await registered(store, V1)

    async with store.uow() as uow:
        again = await uow.agents.update_registration(
            registration(V1, at_s=30, version="2.0", url="http://moved.example"), token_replaced=True
        )

    assert (again.agent_url, again.version, again.status) == ("http://moved.example", "2.0", AgentStatus.ONLINE)
    assert again.last_heartbeat_at == again.updated_at == T0 + timedelta(seconds=30)
    assert again.status_changed_at == T0  # it was online already
    assert again.registered_at == T0


async def test_a_reregistration_without_a_version_keeps_the_stored_one(store: Store) -> None:
    await registered(store, V1)

    async with store.uow() as uow:
        again = await uow.agents.update_registration(registration(V1, at_s=30, version=None), token_replaced=False)

    assert again.version == "1.0"


async def test_a_reregistration_of_an_offline_agent_brings_it_online_from_that_moment(store: Store) -> None:
    await registered(store, V1)
    await set_status(store, V1, AgentStatus.OFFLINE, at_s=100)

    async with store.uow() as uow:
        again = await uow.agents.update_registration(registration(V1, at_s=200), token_replaced=False)

    assert again.status is AgentStatus.ONLINE
    assert again.status_changed_at == T0 + timedelta(seconds=200)


async def test_heartbeats_are_recorded_in_one_call_and_vendors_without_an_agent_are_skipped(store: Store) -> None:
    await registered(store, V1, V2)
    await set_status(store, V2, AgentStatus.DEGRADED, at_s=50)

    async with store.uow() as uow:
        recorded = await uow.agents.record_heartbeats([
            Heartbeat(V1, T0 + timedelta(seconds=60), version="1.1"),
            Heartbeat(V2, T0 + timedelta(seconds=61)),
            Heartbeat(V3, T0 + timedelta(seconds=62)),
        ])

    by_vendor = {r.agent.vendor_id: r for r in recorded}
    assert set(by_vendor) == {V1, V2}
    assert by_vendor[V1].previous_status is AgentStatus.ONLINE
    assert by_vendor[V1].agent.version == "1.1"
    assert by_vendor[V1].agent.status_changed_at == T0
    assert by_vendor[V2].previous_status is AgentStatus.DEGRADED
    assert by_vendor[V2].agent.version == "1.0"  # a heartbeat without a version keeps it
    assert by_vendor[V2].agent.status is AgentStatus.ONLINE
    assert by_vendor[V2].agent.status_changed_at == T0 + timedelta(seconds=61)
    async with store.uow() as uow:
        assert await uow.agents.get(V3) is None
        assert await uow.agents.get(V1) == by_vendor[V1].agent


async def test_a_heartbeat_never_moves_the_last_heartbeat_back(store: Store) -> None:
    await registered(store, V1)
    async with store.uow() as uow:
        await uow.agents.record_heartbeats([Heartbeat(V1, T0 + timedelta(seconds=60))])

    async with store.uow() as uow:
        (late,) = await uow.agents.record_heartbeats([Heartbeat(V1, T0 + timedelta(seconds=30))])

    assert late.agent.last_heartbeat_at == T0 + timedelta(seconds=60)


async def test_no_heartbeats_record_nothing(store: Store) -> None:
    async with store.uow() as uow:
        assert await uow.agents.record_heartbeats([]) == []


async def test_an_admin_update_changes_only_the_fields_given(store: Store) -> None:
    (agent,) = await registered(store, V1)

    async with store.uow() as uow:
        with_settings = await uow.agents.update(V1, agent_url=None, settings={"a": 1}, at=T0 + timedelta(seconds=5))
        moved = await uow.agents.update(V1, agent_url="http://moved.example", settings=None, at=T0 + timedelta(9))
        missing = await uow.agents.update(V2, agent_url="http://x.example", settings=None, at=T0)

    assert with_settings is not None and (with_settings.agent_url, with_settings.settings) == (URL, {"a": 1})
    assert moved is not None and (moved.agent_url, moved.settings) == ("http://moved.example", {"a": 1})
    assert moved.updated_at == T0 + timedelta(9)
    assert moved.last_heartbeat_at == agent.last_heartbeat_at
    assert missing is None


async def test_delete_removes_the_agent_and_says_whether_there_was_one(store: Store) -> None:
    await registered(store, V1)

    async with store.uow() as uow:
        assert await uow.agents.delete(V1) is True
        assert await uow.agents.delete(V1) is False
        assert await uow.agents.get(V1) is None


async def test_pages_and_all_are_ordered_by_vendor_id_with_the_total(store: Store) -> None:
    await registered(store, V3, V1, V2)

    async with store.uow() as uow:
        first = await uow.agents.page(PageRequest(page=1, limit=2))
        second = await uow.agents.page(PageRequest(page=2, limit=2))
        everyone = await uow.agents.all()

    assert [a.vendor_id for a in first.items] == [V1, V2]
    assert [a.vendor_id for a in second.items] == [V3]
    assert (first.total, second.total, first.page, first.limit) == (3, 3, 1, 2)
    assert [a.vendor_id for a in everyone] == [V1, V2, V3]


async def test_a_transition_is_recorded_only_where_nothing_moved_since_it_was_planned(store: Store) -> None:
    agent_1, agent_2, agent_3 = await registered(store, V1, V2, V3)
    at = T0 + timedelta(seconds=300)

    def planned(agent: Agent, from_status: AgentStatus = AgentStatus.ONLINE) -> StatusTransition:
        return StatusTransition(
            agent_id=agent.id, vendor_id=agent.vendor_id, from_status=from_status,
            to_status=AgentStatus.OFFLINE, at=at, last_seen_at=agent.last_seen_at,
        )

    async with store.uow() as uow:  # agent 2 sends a heartbeat after the plan was made
        await uow.agents.record_heartbeats([Heartbeat(V2, T0 + timedelta(seconds=299))])
    async with store.uow() as uow:
        applied = await uow.agents.apply_transitions(
            [planned(agent_1), planned(agent_2), planned(agent_3, from_status=AgentStatus.DEGRADED)]
        )
        assert await uow.agents.apply_transitions([]) == []

    assert applied == [planned(agent_1)]
    async with store.uow() as uow:
        states = {a.vendor_id: (a.status, a.status_changed_at) for a in await uow.agents.all()}
    assert states == {
        V1: (AgentStatus.OFFLINE, at),
        V2: (AgentStatus.ONLINE, T0),
        V3: (AgentStatus.ONLINE, T0),
    }
