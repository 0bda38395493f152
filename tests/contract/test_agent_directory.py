"""Contract of the AgentDirectory: the registered agent's URL and outbound credential, or None when none."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest

from restosync_adapters.postgres.pool import make_pool
from restosync_adapters.postgres.unit_of_work import PgUnitOfWork
from restosync_core.model.agents import AgentEndpoint
from restosync_core.model.ids import VendorId
from restosync_core.ports.agent_client import AgentDirectory
from restosync_core.ports.agents import NewRegistration
from tests.contract.conftest import T0, pg_agent_directory
from tests.fakes.orders import FakeAgentDirectory, fake_credential

pytestmark = pytest.mark.anyio

V1, V2 = VendorId("vendor-1"), VendorId("vendor-2")


@dataclass
class Directory:
    directory: AgentDirectory
    register: Callable[[VendorId, str], Awaitable[None]]
    """How the vendor's agent comes to be known (the fake is told directly; PostgreSQL reads agent_registry)."""


@pytest.fixture(params=["fake", "postgres"])
async def directory(request: pytest.FixtureRequest) -> AsyncIterator[Directory]:
    if request.param == "fake":
        fake = FakeAgentDirectory()

        async def tell(vendor: VendorId, url: str) -> None:
            fake.urls[vendor] = url

        yield Directory(fake, tell)
        return
    url: str = request.getfixturevalue("clean_db")
    pool = make_pool(url, max_size=2)
    await pool.open()

    async def register(vendor: VendorId, agent_url: str) -> None:
        async with PgUnitOfWork(pool) as uow:
            await uow.agents.insert(NewRegistration(vendor, agent_url, "hash", None, T0, fake_credential(vendor)))

    try:
        yield Directory(pg_agent_directory(pool), register)
    finally:
        await pool.close()


async def test_a_registered_vendor_has_its_agents_url_and_credential_and_another_has_none(directory: Directory) -> None:
    await directory.register(V1, "http://agent-1.example:8080")

    assert await directory.directory.endpoint(V1) == AgentEndpoint("http://agent-1.example:8080", fake_credential(V1))
    assert await directory.directory.endpoint(V2) is None


async def test_a_vendor_that_registers_after_being_asked_about_is_found(directory: Directory) -> None:
    assert await directory.directory.endpoint(V2) is None  # "no agent" is never remembered

    await directory.register(V2, "http://agent-2.example")

    assert await directory.directory.endpoint(V2) == AgentEndpoint("http://agent-2.example", fake_credential(V2))
