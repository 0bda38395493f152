"""Authenticating agents: bcrypt once, then the cache; every failure looks the same; revocation is immediate."""

from __future__ import annotations

import pytest

from restosync_core.errors import RateLimited, Unauthenticated
from restosync_core.model.audit import AuditEntry, RequestContext
from restosync_core.model.ids import VendorId
from restosync_core.use_cases.authenticate_agent import AGENT_AUTH_FAILED, AuthenticateAgent
from tests.fakes.agents import FakeAuthThrottle, FakeTokenHasher
from tests.unit.agents.helpers import TOKEN_A, TOKEN_B, AgentsUnitOfWork, World, run


def test_the_slow_hash_is_used_once_then_the_token_is_recognised_from_the_cache() -> None:
    world = World()
    world.register("v1", TOKEN_A)
    before = FakeTokenHasher.calls
    assert run(world.registry.authenticate("v1", TOKEN_A)) == "v1"
    assert FakeTokenHasher.calls == before + 1
    for _ in range(5):
        assert run(world.registry.authenticate("v1", TOKEN_A)) == "v1"
    assert FakeTokenHasher.calls == before + 1
    assert TOKEN_A not in world.tokens.entries["v1"]


@pytest.mark.parametrize(
    ("vendor", "token"),
    [
        ("v1", TOKEN_B),  # wrong token
        ("v2", TOKEN_A),  # another (registered) vendor's header
        ("nobody", TOKEN_A),  # unknown vendor
        ("", TOKEN_A),  # no vendor
        ("v1", ""),  # no token
        ("bad vendor", TOKEN_A),  # not even a vendor id
    ],
)
def test_every_failure_is_the_same_unauthenticated_error(vendor: str, token: str) -> None:
    world = World()
    world.register("v1", TOKEN_A)
    world.register("v2", TOKEN_B)
    with pytest.raises(Unauthenticated) as caught:
        run(world.registry.authenticate(vendor, token))
    assert caught.value.message == AGENT_AUTH_FAILED


def test_an_unknown_vendor_costs_a_slow_hash_like_a_wrong_token() -> None:
    world = World()
    before = FakeTokenHasher.calls
    with pytest.raises(Unauthenticated):
        run(world.registry.authenticate("nobody", TOKEN_A))
    assert FakeTokenHasher.calls == before + 1


def test_deregistration_revokes_a_cached_token_at_once() -> None:
    world = World()
    world.register("v1", TOKEN_A)
    run(world.registry.authenticate("v1", TOKEN_A))
    world.clock.advance(seconds=3)
    context = RequestContext(request_id="req-9", client_address="192.0.2.7")
    run(world.registry.deregister("v1", context=context))
    with pytest.raises(Unauthenticated):
        run(world.registry.authenticate("v1", TOKEN_A))
    assert world.audit[-1] == AuditEntry(
        action="agent.deregistered", entity_type="agent", entity_id="v1", context=context,
        created_at=world.clock.now(),
    )


def test_a_verification_racing_a_revocation_does_not_bring_the_token_back() -> None:
    world = World()
    world.register("v1", TOKEN_A)
    vendor = VendorId("v1")
    stamp = run(world.tokens.stamp(vendor))  # a slow verification read its stamp ...
    run(world.registry.deregister("v1"))  # ... the vendor is deregistered meanwhile ...
    run(world.tokens.remember(vendor, TOKEN_A, stamp))  # ... and it then tries to cache the token
    assert not run(world.tokens.recognises(vendor, TOKEN_A))


def test_failures_are_counted_with_the_client_and_a_throttled_vendor_admits_only_cached_tokens() -> None:
    world = World()
    world.register("v1", TOKEN_A)
    throttle = FakeAuthThrottle(per_vendor=2)
    authenticate = AuthenticateAgent(lambda: AgentsUnitOfWork(world.db), world.hasher, world.tokens, throttle)
    assert run(authenticate("v1", TOKEN_A, client="10.0.0.9")) == "v1"  # cached from now on
    for _ in range(2):
        with pytest.raises(Unauthenticated):
            run(authenticate("v1", TOKEN_B, client="10.0.0.7"))
    with pytest.raises(Unauthenticated):
        run(authenticate("bad vendor", TOKEN_B, client="10.0.0.8"))  # counted for the address alone
    assert throttle.failures == [("10.0.0.7", "v1"), ("10.0.0.7", "v1"), ("10.0.0.8", None)]

    with pytest.raises(RateLimited) as refused:
        run(authenticate("v1", TOKEN_B, client="10.0.0.7"))
    assert refused.value.retry_after_seconds == 42
    assert "AUTH_FAILURES_PER_VENDOR" in refused.value.message and "vendor v1" in refused.value.message
    assert run(authenticate("v1", TOKEN_A, client="10.0.0.9")) == "v1"  # its own agent, cached: still in
    assert len(throttle.failures) == 3  # a throttled attempt is refused before bcrypt, not counted again
