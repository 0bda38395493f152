"""A world for reconciliation use-case tests: an ERP simulator, the fake database, and the engine on them.

    w = World()
    w.erp.fill(200, warehouses=("WH-1",)); w.sync()    # the database holds what the ERP holds
    w.erp.change_item("SKU-000003", price=Decimal("9"))  # drift
    run = w.reconcile()                                   # trigger + run, as a worker would
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import Any, TypeVar

from restosync_core.model.agents import OutboundCredential
from restosync_core.model.ids import VendorId
from restosync_core.model.mappings import MappingType
from restosync_core.model.reconciliation import ReconciledEntity, ReconciliationRun, RunScope, RunTrigger
from restosync_core.policies.reconciliation import WHOLE, BlastRadius, RangeDigest, SearchLimits, combine
from restosync_core.ports.agents import NewRegistration
from restosync_core.use_cases.detect_drift import DetectDrift
from restosync_core.use_cases.ingest_items import IngestItems
from restosync_core.use_cases.ingest_stock import IngestStock
from restosync_core.use_cases.ingest_warehouses import IngestWarehouses
from restosync_core.use_cases.reconcile_vendor import RunReconciliation
from restosync_core.use_cases.trigger_reconciliation import TriggerReconciliation
from tests.erp_simulator import BASE_TIME, ErpSimulator
from tests.fakes import FakeClock, FakeDatabase, fake_uow_factory
from tests.fakes.agents import FakeAgentRepository, FakeAlertSink
from tests.fakes.catalog import ITEMS, STOCK, FakeMappingResolver, table
from tests.fakes.orders import FakeCircuitBreaker
from tests.fakes.reconciliation import (
    FakeCatalogDigests,
    FakeLocks,
    FakeReconciliationQueue,
    FakeReconciliationRuns,
    SimulatedAgent,
)

T = TypeVar("T")
VENDOR = VendorId("acme")
AGENT_URL = "http://agent.acme.test"


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


class World:
    def __init__(
        self, *, blast_radius: BlastRadius | None = None, limits: SearchLimits | None = None, vendor: str = VENDOR
    ) -> None:
        self.vendor = VendorId(vendor)
        self.db = FakeDatabase()
        self.clock = FakeClock(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
        self.erp = ErpSimulator()
        self.resolver = FakeMappingResolver()
        for unit in ("KG", "PC"):
            self.resolver.add(self.vendor, MappingType.UNIT, unit, unit.lower())
        self.resolver.add(self.vendor, MappingType.VAT, "TVA20", "vat-20")
        uow = fake_uow_factory(self.db)
        self.uow = uow
        self.ingest_items = IngestItems(uow, self.resolver, self.clock)
        self.ingest_stock = IngestStock(uow, self.clock)
        self.ingest_warehouses = IngestWarehouses(uow, self.clock)
        self.digests = FakeCatalogDigests(self.db)
        self.locks = FakeLocks()
        self.runs = FakeReconciliationRuns(self.db, self.locks)
        self.queue = FakeReconciliationQueue()
        self.agent = SimulatedAgent(self.erp)
        self.breaker = FakeCircuitBreaker(self.clock)
        self.alerts = FakeAlertSink()
        self.engine = RunReconciliation(
            runs=self.runs, digests=self.digests, agent=self.agent, breaker=self.breaker, uow=uow,
            write_items=self.ingest_items, write_stock=self.ingest_stock, alerts=self.alerts,
            clock=self.clock, try_lock=self.locks, limits=limits or SearchLimits(),
            blast_radius=blast_radius or BlastRadius(),
        )
        self.trigger = TriggerReconciliation(uow, self.runs, self.queue, self.clock)
        self.detect = DetectDrift(uow, self.trigger)
        self.register()

    def register(self, vendor: str | None = None) -> None:
        run(FakeAgentRepository(self.db).insert(
            NewRegistration(
                VendorId(vendor or self.vendor), AGENT_URL, "hash", None, self.clock.now(), OutboundCredential.issue()
            )
        ))

    def sync(self, warehouses: tuple[str, ...] = ("WH-1", "WH-2")) -> None:
        """Push everything the ERP holds, as a healthy agent would (warehouses first)."""
        from tests.unit.ingest.helpers import warehouse

        run(self.ingest_warehouses(self.vendor, [warehouse(code, minutes=0) for code in warehouses]))
        run(self.ingest_items(self.vendor, self.erp.items))
        run(self.ingest_stock(self.vendor, self.erp.stock))

    def reconcile(self, scope: RunScope = RunScope.ALL, *, confirm: bool = False) -> ReconciliationRun:
        """Trigger a run and run it (what the worker does with the wake-up)."""
        request = run(self.trigger(self.vendor, scope, confirm=confirm, trigger=RunTrigger.ADMIN))
        self.clock.advance(seconds=1)
        finished = run(self.engine(request.run.id, self.vendor))
        assert finished is not None
        return finished

    # ------------------------------------------------------------------ what each side holds
    def database_digest(self, entity: ReconciledEntity) -> RangeDigest:
        return combine(run(self.digests.checksums(self.vendor, entity, WHOLE, 1)))

    def erp_digest(self, entity: ReconciledEntity) -> RangeDigest:
        return combine(self.erp.checksums(entity.value, WHOLE, 1))

    def in_sync(self) -> bool:
        return all(self.database_digest(e).matches(self.erp_digest(e)) for e in ReconciledEntity)

    def catalogue(self) -> dict[str, Any]:
        """A deep snapshot of the catalogue tables, to tell whether a run changed anything."""
        return {name: dict(table(self.db, name)) for name in (ITEMS, STOCK)}


__all__ = ["BASE_TIME", "VENDOR", "World", "run"]
