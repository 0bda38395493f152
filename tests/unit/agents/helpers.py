"""An agent registry over fakes, and small helpers to drive it from sync tests."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from restosync_core.model.audit import AuditEntry
from restosync_core.use_cases.agent_registry import AgentRegistry
from restosync_core.use_cases.register_agent import Registration
from tests.fakes import FakeClock, FakeDatabase, FakeUnitOfWork
from tests.fakes.agents import AGENTS, FakeAgentRepository, FakeAlertSink, FakeTokenCache, FakeTokenHasher
from tests.fakes.audit import AUDIT, FakeAuditLog

T = TypeVar("T")

TOKEN_A = "token-a-" + "a" * 32
TOKEN_B = "token-b-" + "b" * 32
URL = "https://agent.example/erp"


class AgentsUnitOfWork(FakeUnitOfWork):
    """The shared fake unit of work with only this area's repositories (other areas' may be mid-change)."""

    def _bind(self) -> None:
        self.agents = FakeAgentRepository(self.db)
        self.audit_log = FakeAuditLog(self.db)


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
    registry: AgentRegistry = field(init=False)

    def __post_init__(self) -> None:
        self.registry = AgentRegistry.build(
            uow=lambda: AgentsUnitOfWork(self.db),
            clock=self.clock,
            hasher=self.hasher,
            tokens=self.tokens,
            alerts=self.alerts,
            heartbeat_flush_seconds=self.heartbeat_flush_seconds,
        )

    @property
    def rows(self) -> dict[str, Any]:
        return self.db.table(AGENTS)

    @property
    def audit(self) -> list[AuditEntry]:
        return self.db.table(AUDIT, list)

    def register(self, vendor: str = "v1", token: str = TOKEN_A, *, url: str = URL, current: str | None = None) -> Any:
        return run(self.registry.register(Registration(vendor, url, token, "1.0", current)))
