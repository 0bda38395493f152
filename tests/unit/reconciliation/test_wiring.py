"""The composition root wires reconciliation from its parts: a trigger, then a run, over fakes."""

from __future__ import annotations

from decimal import Decimal

from restosync_core.model.agents import OutboundCredential
from restosync_core.model.ids import VendorId
from restosync_core.model.mappings import MappingType, NewMapping
from restosync_core.model.reconciliation import RunScope, RunStatus
from restosync_core.ports.agents import NewRegistration
from tests.erp_simulator import ErpSimulator
from tests.fakes import FakeClock, FakeDatabase
from tests.fakes.agents import FakeAgentRepository
from tests.fakes.reconciliation import SimulatedAgent
from tests.unit.reconciliation.world import run
from tests.unit.services import unit_services


def test_bootstrap_builds_a_working_reconciliation_from_its_parts() -> None:
    db, clock = FakeDatabase(), FakeClock()
    erp = ErpSimulator()
    erp.fill(30)
    services = unit_services(db, clock, reconciliation_agent=SimulatedAgent(erp))
    vendor = VendorId("acme")
    outbound = OutboundCredential.issue()
    run(FakeAgentRepository(db).insert(NewRegistration(vendor, "http://agent.test", "hash", None, clock.now(),
                                                            outbound)))
    run(services.seed_mappings([NewMapping(vendor, MappingType.UNIT, "KG", "kg"),
                                NewMapping(vendor, MappingType.VAT, "TVA20", "vat-20")]))
    run(services.ingest_items(vendor, erp.items))
    erp.change_item("SKU-000002", price=Decimal("1"))

    request = run(services.trigger_reconciliation(vendor, RunScope.ITEMS))
    clock.advance(seconds=1)
    finished = run(services.run_reconciliation(request.run.id, vendor))

    assert finished is not None and finished.status is RunStatus.COMPLETED
    assert finished.summary.repaired == 1
    assert run(services.get_reconciliation_run(request.run.id)).status is RunStatus.COMPLETED
    metrics = run(services.get_reconciliation_metrics(vendor))
    assert metrics.last_24h.repaired == 1
    assert run(services.detect_drift()).startswith("1 run(s) queued")


def test_the_weekly_archive_removes_finished_runs_and_their_events_never_an_active_run() -> None:
    db, clock = FakeDatabase(), FakeClock()
    services = unit_services(db, clock)
    vendors = [VendorId("old"), VendorId("busy")]
    for vendor in vendors:
        outbound = OutboundCredential.issue()
        run(FakeAgentRepository(db).insert(NewRegistration(vendor, "http://agent.test", "hash", None, clock.now(),
                                                            outbound)))
    finished = run(services.trigger_reconciliation(vendors[0], RunScope.ITEMS))
    run(services.run_reconciliation(finished.run.id, vendors[0]))
    active = run(services.trigger_reconciliation(vendors[1], RunScope.ITEMS))  # queued, never run
    clock.advance(days=31)

    report = run(services.archive_reconciliation_events())

    assert str(report) == "2 reconciliation events and runs removed"  # the finished run and its own event
    assert db.table("reconciliation_events") == {}
    assert set(db.table("reconciliation_runs")) == {active.run.id}


def test_reconciliation_workers_alone_are_sized_by_their_own_setting() -> None:
    from dataclasses import replace

    from restosync_worker.__main__ import default_concurrency
    from tests.unit.services import UNIT_SETTINGS

    settings = replace(UNIT_SETTINGS, worker_concurrency=5, reconciliation_worker_concurrency=2)
    assert default_concurrency(settings, ["reconciliation"]) == 2
    assert default_concurrency(settings, ["order-sync", "image-sync"]) == 5
    assert default_concurrency(settings, ["order-sync", "reconciliation", "image-sync"]) == 5
