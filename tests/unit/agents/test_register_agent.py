"""Registering agents: create, upsert with proof of the current token, never a takeover."""

from __future__ import annotations

import pytest

from restosync_core.errors import Conflict, Forbidden, Unauthenticated, ValidationFailed
from restosync_core.model.audit import AuditEntry, RequestContext
from restosync_core.use_cases.register_agent import Registration
from tests.unit.agents.helpers import TOKEN_A, TOKEN_B, URL, World, run


def test_a_new_vendor_is_registered_online_with_only_a_hash_of_its_token() -> None:
    world = World()
    registered = world.register("v1", TOKEN_A)
    assert registered.created and not registered.token_replaced
    agent = world.rows["v1"]
    assert agent.status == "online" and agent.last_heartbeat_at == world.clock.now()
    assert TOKEN_A not in agent.auth_token_hash
    assert run(world.hasher.verify(TOKEN_A, agent.auth_token_hash))
    assert world.audit == [
        AuditEntry(
            action="agent.registered",
            entity_type="agent",
            entity_id="v1",
            context=RequestContext(),
            created_at=world.clock.now(),
            details={"agentUrl": URL},
        )
    ]


def test_a_registration_and_a_token_replacement_are_audited_with_the_request_that_asked() -> None:
    world = World()
    first = RequestContext(request_id="req-1", client_address="10.0.0.1")
    run(world.registry.register(Registration("v1", URL, TOKEN_A), context=first))
    world.clock.advance(seconds=5)
    second = RequestContext(request_id="req-2", client_address="10.0.0.2")
    run(world.registry.register(Registration("v1", URL, TOKEN_B, current_token=TOKEN_A), context=second))
    assert [(e.action, e.entity_type, e.entity_id, e.context) for e in world.audit] == [
        ("agent.registered", "agent", "v1", first),
        ("agent.token_replaced", "agent", "v1", second),
    ]
    assert world.audit[-1].created_at == world.clock.now() and world.audit[-1].details == {}
    stored_hash = world.rows["v1"].auth_token_hash
    assert not any(secret in repr(world.audit) for secret in (TOKEN_A, TOKEN_B, stored_hash))


def test_re_registering_with_the_same_token_writes_no_audit_entry() -> None:
    world = World()
    world.register("v1", TOKEN_A)
    world.register("v1", TOKEN_A, url="https://moved.example/agent")
    assert [e.action for e in world.audit] == ["agent.registered"]


def test_registering_again_with_the_same_token_updates_url_and_version_in_place() -> None:
    world = World()
    first = world.register("v1", TOKEN_A).agent
    world.clock.advance(seconds=10)
    again = run(world.registry.register(Registration("v1", "https://new.example/agent", TOKEN_A, "2.0")))
    assert not again.created and not again.token_replaced
    assert again.agent.id == first.id
    assert again.agent.agent_url == "https://new.example/agent" and again.agent.version == "2.0"
    assert again.agent.auth_token_hash == first.auth_token_hash
    assert len(world.rows) == 1


def test_holding_only_the_shared_secret_cannot_take_over_a_registered_vendor() -> None:
    world = World()
    world.register("v1", TOKEN_A)
    with pytest.raises(Conflict, match="already registered"):
        world.register("v1", TOKEN_B, url="https://attacker.example/")
    agent = world.rows["v1"]
    assert agent.agent_url == URL
    assert run(world.hasher.verify(TOKEN_A, agent.auth_token_hash))
    assert run(world.registry.authenticate("v1", TOKEN_A)) == "v1"


def test_a_wrong_current_token_cannot_replace_the_token() -> None:
    world = World()
    world.register("v1", TOKEN_A)
    with pytest.raises(Forbidden):
        world.register("v1", TOKEN_B, current="not-the-token-" + "x" * 30)
    assert run(world.hasher.verify(TOKEN_A, world.rows["v1"].auth_token_hash))


def test_proving_the_current_token_replaces_it_and_the_old_one_stops_working_at_once() -> None:
    world = World()
    world.register("v1", TOKEN_A)
    assert run(world.registry.authenticate("v1", TOKEN_A)) == "v1"  # now cached
    replaced = world.register("v1", TOKEN_B, current=TOKEN_A)
    assert replaced.token_replaced and not replaced.created
    with pytest.raises(Unauthenticated):
        run(world.registry.authenticate("v1", TOKEN_A))
    assert run(world.registry.authenticate("v1", TOKEN_B)) == "v1"


@pytest.mark.parametrize(
    ("registration", "path"),
    [
        (Registration("bad vendor!", URL, TOKEN_A), "$.vendorId"),
        (Registration("v" * 65, URL, TOKEN_A), "$.vendorId"),
        (Registration("v1", "ftp://agent.example/", TOKEN_A), "$.agentUrl"),
        (Registration("v1", "https://", TOKEN_A), "$.agentUrl"),
        (Registration("v1", URL, "short-token"), "$.authToken"),
        (Registration("v1", URL, TOKEN_A, version="x" * 65), "$.version"),
    ],
)
def test_bad_registrations_are_refused_naming_the_field(registration: Registration, path: str) -> None:
    world = World()
    with pytest.raises(ValidationFailed) as caught:
        run(world.registry.register(registration))
    assert caught.value.path == path
    assert world.rows == {}
