"""Properties of any sequence of register / heartbeat / deregister calls."""

from __future__ import annotations

from dataclasses import fields

from hypothesis import given, settings

from restosync_core.errors import ClientError
from restosync_core.model.ids import VendorId
from restosync_core.use_cases.register_agent import Registration
from tests.strategies import REGISTRY_TOKENS, registry_operations
from tests.unit.agents.helpers import URL, World, run

TOKENS = REGISTRY_TOKENS
operations = registry_operations(["v1", "v2", "v3"], max_size=25, ticks=True)


def _stored_text(world: World) -> str:
    """Everything the registry stored, as text: rows, audit log and cache entries."""
    parts = [repr(getattr(agent, f.name)) for agent in world.rows.values() for f in fields(agent)]
    parts += [repr(entry) for entry in world.audit]
    parts += list(world.tokens.entries.values())
    return "\n".join(parts)


@settings(max_examples=200, deadline=None)
@given(ops=operations)
def test_any_sequence_keeps_one_row_per_registered_vendor_and_never_stores_a_token(ops) -> None:
    world = World()
    expected: dict[str, str] = {}  # vendor -> its current token, per a trivial reference model
    for op, vendor, token, current in ops:
        try:
            if op == "register":
                run(world.registry.register(Registration(vendor, URL, token, None, current)))
                if vendor not in expected or token == expected[vendor] or current == expected[vendor]:
                    expected[vendor] = token
            elif op == "heartbeat":
                run(world.registry.heartbeat(VendorId(vendor)))
            elif op == "deregister":
                run(world.registry.deregister(vendor))
                expected.pop(vendor, None)
            else:
                world.clock.advance(seconds=45)
        except ClientError:
            pass
        assert sorted(world.rows) == sorted(expected)
        assert all(agent.vendor_id == vendor for vendor, agent in world.rows.items())
        assert len({agent.id for agent in world.rows.values()}) == len(world.rows)
        stored = _stored_text(world)
        assert not any(t in stored for t in TOKENS)
        audited = repr(world.audit)
        assert not any(agent.auth_token_hash in audited for agent in world.rows.values())
        for vendor, token in expected.items():
            assert run(world.registry.authenticate(vendor, token)) == vendor
