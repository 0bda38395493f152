"""Coalesced heartbeats: buffered per vendor, written in one batch per interval, never lost on a hiccup."""

from __future__ import annotations

import pytest

from restosync_core.errors import DependencyUnavailable
from restosync_core.model.agents import AgentStatus
from restosync_core.model.audit import RequestContext
from restosync_core.model.ids import VendorId
from tests.unit.agents.helpers import TOKEN_A, World, run
from tests.waiting import wait_until_async

V1, V2 = VendorId("v1"), VendorId("v2")


def _world() -> World:
    world = World(heartbeat_flush_seconds=3600)  # the background flusher never fires by itself here
    world.register("v1", TOKEN_A)
    world.register("v2", TOKEN_A)
    return world


def test_a_buffered_heartbeat_answers_at_once_and_is_written_by_the_next_flush() -> None:
    world = _world()
    registered_at = world.clock.now()
    world.clock.advance(seconds=20)

    async def scenario() -> None:
        ack = await world.registry.heartbeat(V1, version="2.0")
        assert ack.received_at == world.clock.now()
        assert world.rows["v1"].last_heartbeat_at == registered_at  # not written yet
        assert await world.registry.heartbeat.flush() == 1
        await world.registry.heartbeat.close()

    run(scenario())
    assert world.rows["v1"].last_heartbeat_at == world.clock.now()
    assert world.rows["v1"].version == "2.0"


def test_many_heartbeats_of_one_vendor_become_one_write_with_the_latest_time_and_known_version() -> None:
    world = _world()

    async def scenario() -> int:
        world.clock.advance(seconds=1)
        await world.registry.heartbeat(V1, version="3.0")
        for _ in range(5):
            world.clock.advance(seconds=1)
            await world.registry.heartbeat(V1)
        await world.registry.heartbeat(V2)
        assert world.registry.heartbeat.pending == 2
        written = await world.registry.heartbeat.flush()
        await world.registry.heartbeat.close()
        return written

    assert run(scenario()) == 2
    assert world.rows["v1"].last_heartbeat_at == world.clock.now()
    assert world.rows["v1"].version == "3.0"


def test_heartbeats_stay_buffered_when_the_database_is_away_and_are_written_later() -> None:
    world = _world()
    real_uow = world.registry.heartbeat._uow

    def broken() -> object:
        raise DependencyUnavailable("the database is unavailable")

    async def scenario() -> None:
        world.clock.advance(seconds=30)
        await world.registry.heartbeat(V1)
        world.registry.heartbeat._uow = broken
        with pytest.raises(DependencyUnavailable):
            await world.registry.heartbeat.flush()
        assert world.registry.heartbeat.pending == 1
        world.registry.heartbeat._uow = real_uow
        assert await world.registry.heartbeat.flush() == 1

    run(scenario())
    assert world.rows["v1"].last_heartbeat_at == world.clock.now()


def test_the_background_flusher_writes_without_being_asked() -> None:
    world = World(heartbeat_flush_seconds=0.01)
    world.register("v1", TOKEN_A)
    world.clock.advance(seconds=400)

    async def scenario() -> None:
        await world.registry.heartbeat(V1)

        async def written() -> bool:
            return world.rows["v1"].last_heartbeat_at == world.clock.now()

        await wait_until_async(written, 5, "the flusher to write the heartbeat")
        await world.registry.heartbeat.close()

    run(scenario())
    assert world.rows["v1"].status is AgentStatus.ONLINE


def test_closing_writes_what_is_buffered_and_later_heartbeats_are_written_through() -> None:
    world = _world()

    async def scenario() -> None:
        world.clock.advance(seconds=10)
        await world.registry.heartbeat(V1)
        await world.registry.heartbeat.close()
        assert world.rows["v1"].last_heartbeat_at == world.clock.now()
        world.clock.advance(seconds=10)
        await world.registry.heartbeat(V2)
        assert world.rows["v2"].last_heartbeat_at == world.clock.now()

    run(scenario())


def test_a_buffered_heartbeat_of_a_vendor_deregistered_before_the_flush_changes_nothing() -> None:
    world = _world()

    async def scenario() -> int:
        await world.registry.heartbeat(V1)
        await world.registry.deregister("v1")
        written = await world.registry.heartbeat.flush()
        await world.registry.heartbeat.close()
        return written

    assert run(scenario()) == 0
    assert "v1" not in world.rows


def test_an_offline_agent_coming_back_through_the_buffer_is_logged_back_online() -> None:
    world = _world()
    world.clock.advance(seconds=301)
    run(world.registry.check_health())
    assert world.rows["v1"].status is AgentStatus.OFFLINE

    async def scenario() -> None:
        await world.registry.heartbeat(V1)
        await world.registry.heartbeat.flush()
        await world.registry.heartbeat.close()

    run(scenario())
    assert world.rows["v1"].status is AgentStatus.ONLINE
    back = world.audit[-1]
    assert (back.action, back.entity_id, back.details["from"], back.details["to"]) == (
        "agent.status_changed", "v1", "offline", "online"
    )
    assert back.created_at == world.clock.now() and back.context == RequestContext()
