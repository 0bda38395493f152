"""Heartbeats, deregistration and reads: reads always show the status as of now."""

from __future__ import annotations

import pytest

from restosync_core.errors import Forbidden, NotFound, Unauthenticated, ValidationFailed
from restosync_core.model.agents import AgentStatus
from restosync_core.model.audit import AuditEntry, RequestContext
from restosync_core.model.ids import VendorId
from restosync_core.model.pagination import PageRequest
from restosync_core.use_cases.update_agent import AgentChanges
from tests.unit.agents.helpers import TOKEN_A, World, run

V1 = VendorId("v1")


def test_a_heartbeat_marks_the_agent_heard_from_now() -> None:
    world = World()
    world.register("v1", TOKEN_A)
    world.clock.advance(seconds=45)
    ack = run(world.registry.heartbeat(V1, version="1.1"))
    assert ack.received_at == world.clock.now() and ack.status is AgentStatus.ONLINE
    agent = world.rows["v1"]
    assert agent.last_heartbeat_at == world.clock.now()
    assert agent.status is AgentStatus.ONLINE and agent.version == "1.1"


def test_a_heartbeat_naming_another_vendor_is_forbidden_and_changes_nothing() -> None:
    world = World()
    world.register("v1", TOKEN_A)
    world.clock.advance(seconds=45)
    with pytest.raises(Forbidden):
        run(world.registry.heartbeat(V1, named_vendor="v2"))
    assert world.rows["v1"].last_heartbeat_at != world.clock.now()


def test_a_heartbeat_for_a_vendor_deregistered_meanwhile_is_unauthenticated() -> None:
    world = World()
    with pytest.raises(Unauthenticated):
        run(world.registry.heartbeat(V1))


def test_reads_show_the_status_as_of_now_even_before_any_health_check() -> None:
    world = World()
    world.register("v1", TOKEN_A)
    world.register("v2", TOKEN_A)
    world.clock.advance(seconds=61)
    run(world.registry.heartbeat(VendorId("v2")))
    assert run(world.registry.get("v1")).status is AgentStatus.DEGRADED
    world.clock.advance(seconds=240)
    page = run(world.registry.list_agents(PageRequest(1, 10)))
    assert [(a.vendor_id, a.status) for a in page.items] == [
        ("v1", AgentStatus.OFFLINE),
        ("v2", AgentStatus.DEGRADED),
    ]
    assert world.rows["v1"].status is AgentStatus.ONLINE  # nothing was recorded by reading


def test_listing_pages_through_agents_in_vendor_order() -> None:
    world = World()
    for vendor in ("c", "a", "b"):
        world.register(vendor, TOKEN_A)
    page = run(world.registry.list_agents(PageRequest(2, 2)))
    assert [a.vendor_id for a in page.items] == ["c"]
    assert (page.total, page.total_pages) == (3, 2)


def test_getting_updating_or_deregistering_an_unknown_vendor_is_not_found() -> None:
    world = World()
    with pytest.raises(NotFound):
        run(world.registry.get("nobody"))
    with pytest.raises(NotFound):
        run(world.registry.update("nobody", AgentChanges(agent_url="https://x.example/")))
    with pytest.raises(NotFound):
        run(world.registry.deregister("nobody"))


def test_an_admin_update_changes_url_and_settings_and_keeps_the_rest() -> None:
    world = World()
    before = world.register("v1", TOKEN_A).agent
    world.clock.advance(seconds=5)
    after = run(world.registry.update("v1", AgentChanges(settings={"timeoutSeconds": 10})))
    assert after.settings == {"timeoutSeconds": 10} and after.agent_url == before.agent_url
    after = run(world.registry.update("v1", AgentChanges(agent_url="https://moved.example/agent")))
    assert after.agent_url == "https://moved.example/agent" and after.settings == {"timeoutSeconds": 10}
    assert after.auth_token_hash == before.auth_token_hash and after.updated_at == world.clock.now()


def test_an_admin_update_is_audited_with_what_changed_and_the_request_that_asked() -> None:
    world = World()
    world.register("v1", TOKEN_A)
    world.clock.advance(seconds=5)
    context = RequestContext(request_id="req-7", client_address="203.0.113.5")
    changes = AgentChanges(agent_url="https://moved.example/agent", settings={"timeoutSeconds": 10})
    run(world.registry.update("v1", changes, context=context))
    assert world.audit[-1] == AuditEntry(
        action="agent.updated",
        entity_type="agent",
        entity_id="v1",
        context=context,
        created_at=world.clock.now(),
        details={"changed": ["agentUrl", "settings"]},
    )
    run(world.registry.update("v1", AgentChanges(settings={})))
    assert world.audit[-1].details == {"changed": ["settings"]} and world.audit[-1].context == RequestContext()


@pytest.mark.parametrize("changes", [AgentChanges(), AgentChanges(agent_url="mailto:x@example.com")])
def test_an_admin_update_without_changes_or_with_a_bad_url_is_refused(changes: AgentChanges) -> None:
    world = World()
    world.register("v1", TOKEN_A)
    with pytest.raises(ValidationFailed):
        run(world.registry.update("v1", changes))
