"""An agent registry over fakes, and small helpers to drive it from sync tests."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from restosync_adapters.bootstrap import Services
from restosync_core.model.audit import AuditEntry
from restosync_core.use_cases.register_agent import Registration
from tests.fakes import FakeClock, FakeDatabase, FakeUnitOfWork
from tests.fakes.agents import AGENTS, FakeAgentRepository, FakeAlertSink, FakeTokenCache, FakeTokenHasher
from tests.fakes.audit import AUDIT, FakeAuditLog
from tests.unit.services import UNIT_SETTINGS, unit_services

T = TypeVar("T")

TOKEN_A = "token-a-" + "a" * 32
TOKEN_B = "token-b-" + "b" * 32
URL = "https://agent.example/erp"


class AgentsUnitOfWork(FakeUnitOfWork):
    """The shared fake unit of work with only this area's repositories (other areas' may be mid-change)."""

    def _bind(self) -> None:
        self.agents = FakeAgentRepository(self.db)
        self.audit_log = FakeAuditLog(self.db)


class Registry:
    """The agent use cases of one process (built by ``bootstrap``), under the short names these tests use."""

    def __init__(self, services: Services) -> None:
        self.register = services.register_agent
        self.authenticate = services.authenticate_agent
        self.heartbeat = services.record_heartbeat
        self.deregister = services.deregister_agent
        self.get = services.get_agent
        self.list_agents = services.list_agents
        self.update = services.update_agent
        self.check_health = services.check_agent_health


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


@dataclass
class World:
    db: FakeDatabase = field(default_factory=FakeDatabase)
    clock: FakeClock = field(default_factory=FakeClock)
    hasher: FakeTokenHasher = field(default_factory=FakeTokenHasher)
    tokens: FakeTokenCache = field(default_factory=FakeTokenCache)
    alerts: FakeAlertSink = field(default_factory=FakeAlertSink)
    heartbeat_flush_seconds: float = 0.0
    registry: Registry = field(init=False)

    def __post_init__(self) -> None:
        services = unit_services(
            self.db,
            self.clock,
            replace(UNIT_SETTINGS, agent_heartbeat_flush_seconds=self.heartbeat_flush_seconds),
            uow=lambda: AgentsUnitOfWork(self.db),
            token_hasher=self.hasher,
            token_cache=self.tokens,
            alerts=self.alerts,
        )
        self.registry = Registry(services)

    @property
    def rows(self) -> dict[str, Any]:
        return self.db.table(AGENTS)

    @property
    def audit(self) -> list[AuditEntry]:
        return self.db.table(AUDIT, list)

    def register(self, vendor: str = "v1", token: str = TOKEN_A, *, url: str = URL, current: str | None = None) -> Any:
        return run(self.registry.register(Registration(vendor, url, token, "1.0", current)))
