"""Unit tests' services: the real composition root (``bootstrap``) with every port a fake; no network."""

from __future__ import annotations

from typing import Any

from restosync_adapters.bootstrap import Services, bootstrap
from restosync_adapters.settings import Settings
from tests.erp_simulator import ErpSimulator
from tests.fakes import FakeClock, FakeDatabase, fake_uow_factory
from tests.fakes.agents import FakeAlertSink, FakeRateLimiter, FakeTokenCache, FakeTokenHasher
from tests.fakes.maintenance import FakeAlertThrottle, FakeRetentionStore, FakeTaskRuns
from tests.fakes.mappings import FakeMappingInvalidation, FakeMappingLookup
from tests.fakes.metrics import FakeIngestCounter, FakeSyncMetricsReader
from tests.fakes.orders import (
    FakeAgentClient,
    FakeAgentDirectory,
    FakeCircuitBreaker,
    FakeJobQueue,
    FakeSyncJobClaims,
)
from tests.fakes.reconciliation import (
    FakeCatalogDigests,
    FakeLocks,
    FakeReconciliationQueue,
    FakeReconciliationRuns,
    SimulatedAgent,
)

UNIT_SETTINGS = Settings.from_env(
    {
        "ENV": "test",
        "DATABASE_URL": "postgresql://unit-tests-never-connect.invalid/restosync",
        "REDIS_URL": "redis://unit-tests-never-connect.invalid:6379/0",
        "AGENT_SECRET": "test-agent-secret-0123456789",
        "API_SECRET": "test-api-secret-0123456789-0123456789",
    }
)


def unit_services(db: FakeDatabase, clock: FakeClock, settings: Settings = UNIT_SETTINGS, **overrides: Any) -> Services:
    """``bootstrap`` over ``db`` and ``clock``; every other port a fresh fake unless given in ``overrides``."""
    locks = FakeLocks()
    fakes: dict[str, Any] = {
        "clock": clock,
        "uow": fake_uow_factory(db),
        "probes": [],
        "alerts": FakeAlertSink(),
        "rate_limiter": FakeRateLimiter(),
        "token_hasher": FakeTokenHasher(),
        "token_cache": FakeTokenCache(),
        "mapping_lookup": FakeMappingLookup(db),
        "mapping_invalidation": FakeMappingInvalidation(),
        "queue": FakeJobQueue(),
        "breaker": FakeCircuitBreaker(clock),
        "agent_client": FakeAgentClient(),
        "agent_directory": FakeAgentDirectory({}),
        "sync_job_claims": FakeSyncJobClaims(db),
        "alert_throttle": FakeAlertThrottle(clock),
        "retention": FakeRetentionStore(db),
        "task_runs": FakeTaskRuns(db),
        "try_lock": locks,
        "reconciliation_agent": SimulatedAgent(ErpSimulator()),
        "catalog_digests": FakeCatalogDigests(db),
        "reconciliation_runs": FakeReconciliationRuns(db, locks),
        "reconciliation_queue": FakeReconciliationQueue(),
        "sync_metrics": FakeSyncMetricsReader(db),
        "ingest_counter": FakeIngestCounter(db),
    }
    return bootstrap(settings, **{**fakes, **overrides})
