"""A re-registration that sends no version keeps the stored one (it used to erase it)."""

from __future__ import annotations

from restosync_core.use_cases.register_agent import Registration
from tests.unit.agents.helpers import TOKEN_A, TOKEN_B, URL, World, run


def test_re_registering_without_a_version_keeps_the_stored_version() -> None:
    world = World()
    world.register("v1", TOKEN_A)  # version "1.0"
    again = run(world.registry.register(Registration("v1", "https://moved.example/agent", TOKEN_A)))
    assert again.agent.version == "1.0" and again.agent.agent_url == "https://moved.example/agent"
    assert world.rows["v1"].version == "1.0"


def test_replacing_the_token_without_a_version_keeps_the_stored_version() -> None:
    world = World()
    world.register("v1", TOKEN_A)
    again = run(world.registry.register(Registration("v1", URL, TOKEN_B, current_token=TOKEN_A)))
    assert again.token_replaced and again.agent.version == "1.0"
