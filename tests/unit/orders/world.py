"""A small world for order-delivery use-case tests: fakes, a driven clock, and the use cases built on them."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from restosync_adapters.bootstrap import Services
from restosync_core.model.agents import OutboundCredential
from restosync_core.model.delivery import AgentCallback, CallbackStatus, DeliveryOutcome, NewOrder, NewOrderLine
from restosync_core.model.ids import SyncJobId, VendorId
from restosync_core.model.orders import SyncJob
from restosync_core.policies.breaker import BreakerPolicy
from restosync_core.policies.retry import RetryPolicy
from restosync_core.ports.agents import NewRegistration
from restosync_core.use_cases.deliver_order import DeliverOrder
from restosync_core.use_cases.sweep_sync_jobs import SweepSyncJobs
from tests.fakes import FakeClock, FakeDatabase
from tests.fakes.agents import AGENTS, FakeAgentRepository
from tests.fakes.orders import (
    FakeAgentClient,
    FakeAgentDirectory,
    FakeCircuitBreaker,
    FakeJobQueue,
    FakeSyncJobClaims,
)
from tests.unit.services import UNIT_SETTINGS, unit_services

VENDOR = VendorId("acme")
AGENT_URL = "http://agent.acme.test"


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def an_order(number: str = "A-1", vendor: str = VENDOR) -> NewOrder:
    return NewOrder(
        vendor_id=VendorId(vendor),
        order_number=number,
        lines=(NewOrderLine("SKU-1", Decimal("2"), Decimal("18.50")),),
    )


@dataclass
class World:
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    breaker_policy: BreakerPolicy = field(default_factory=BreakerPolicy)

    def __post_init__(self) -> None:
        self.db = FakeDatabase()
        self.clock = FakeClock()
        self.queue = FakeJobQueue()
        self.agent = FakeAgentClient()
        self.directory = FakeAgentDirectory({VENDOR: AGENT_URL})
        self.breaker = FakeCircuitBreaker(self.clock, self.breaker_policy)
        self.claims = FakeSyncJobClaims(self.db)
        self._workers: dict[str, Services] = {}
        services = self.services("w1")
        self.uow = services.uow
        self.place = services.place_order
        self.callback = services.handle_order_callback
        # the sweep looks no further ahead than now (the real one also wakes jobs due within its interval)
        self.sweep = SweepSyncJobs(services.uow, services.queue, services.clock, horizon_seconds=0)
        self.retry_letter = services.retry_dead_letter
        self.resolve_letter = services.resolve_dead_letter
        self.list_dead_letters = services.list_dead_letters
        self.register_agent()

    def services(self, worker: str) -> Services:
        """The services of the process named ``worker`` (``bootstrap`` over this world's shared fakes)."""
        if worker not in self._workers:
            settings = replace(
                UNIT_SETTINGS,
                order_max_attempts=self.policy.max_attempts,
                order_retry_delays=self.policy.delays,
                order_claim_seconds=self.policy.claim_seconds,
                order_callback_timeout_seconds=self.policy.callback_timeout_seconds,
            )
            self._workers[worker] = unit_services(
                self.db, self.clock, settings, worker=worker, queue=self.queue, agent_client=self.agent,
                agent_directory=self.directory, breaker=self.breaker, sync_job_claims=self.claims,
            )
        return self._workers[worker]

    def register_agent(self, vendor: str = VENDOR, url: str = AGENT_URL) -> None:
        """The vendor's agent row (orders are only placed for a registered vendor) and where it listens."""
        outbound = OutboundCredential.issue()
        registration = NewRegistration(VendorId(vendor), url, "hash", None, self.clock.now(), outbound)
        run(FakeAgentRepository(self.db).insert(registration))
        self.directory.urls[vendor] = url

    def deregister_agent(self, vendor: str = VENDOR) -> None:
        self.db.table(AGENTS).pop(vendor, None)
        self.directory.urls.pop(vendor, None)

    def deliverer(self, worker: str = "w1") -> DeliverOrder:
        return self.services(worker).deliver_order

    def deliver(self, job_id: SyncJobId, worker: str = "w1") -> DeliveryOutcome:
        outcome: DeliveryOutcome = run(self.deliverer(worker)(job_id))
        return outcome

    def run_workers(self) -> list[DeliveryOutcome]:
        """Run every wake-up due now, once (what idle workers would do at this instant)."""
        return [self.deliver(job_id) for job_id in self.queue.take_due(self.clock.now())]

    def job(self, job_id: SyncJobId) -> SyncJob:
        return self.db.tables["sync_jobs"][job_id]

    def complete(self, job_id: SyncJobId, reference: str = "ERP-1", vendor: str = VENDOR) -> Any:
        return run(self.callback(VendorId(vendor), AgentCallback(job_id, CallbackStatus.COMPLETED, reference)))

    def fail(self, job_id: SyncJobId, error: str = "rejected by ERP", vendor: str = VENDOR) -> Any:
        return run(self.callback(VendorId(vendor), AgentCallback(job_id, CallbackStatus.FAILED, error=error)))
