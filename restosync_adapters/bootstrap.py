"""The composition root: builds settings, pools, clients, adapters and use cases for one process.

The API, the worker, the scheduler and the tests all start here. Overrides (the
ports listed in ``OVERRIDABLE``) are taken *before* anything is built, so a fake
passed in is the one every use case gets; an unknown name is a ``TypeError``.
Nothing is connected until ``await services.start()``; ``await services.stop()``
closes it all.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

import redis.asyncio as aioredis
from psycopg_pool import AsyncConnectionPool
from redis import Redis as SyncRedis

from restosync_adapters.agent_client import HttpxAgentClient
from restosync_adapters.alerts import LoggingAlertSink, RedisAlertThrottle, SlackNotifier
from restosync_adapters.breaker import RedisCircuitBreaker
from restosync_adapters.health import (
    AgentsProbe,
    DatabaseProbe,
    DiskProbe,
    MemoryProbe,
    QueuesProbe,
    RedisProbe,
)
from restosync_adapters.passwords import BcryptTokenHasher
from restosync_adapters.postgres.agent_directory import PgAgentDirectory
from restosync_adapters.postgres.locks import try_advisory_lock
from restosync_adapters.postgres.mappings import PgMappingLookup
from restosync_adapters.postgres.metrics import (
    INGEST_COUNTS_FLUSH_SECONDS,
    CoalescedIngestCounter,
    PgIngestCounter,
    PgSyncMetricsReader,
)
from restosync_adapters.postgres.pool import make_pool
from restosync_adapters.postgres.reconciliation import PgCatalogDigests, PgReconciliationRuns
from restosync_adapters.postgres.retention import PgRetentionStore, PgTaskRuns
from restosync_adapters.postgres.sync_jobs import PgSyncJobClaims
from restosync_adapters.postgres.unit_of_work import PgUnitOfWork
from restosync_adapters.queues import IMAGE_SYNC, LOGICAL_QUEUES, ORDER_SYNC, RECONCILIATION, rq_queue_name
from restosync_adapters.redis.admission import RedisAdmission
from restosync_adapters.redis.clients import make_async_redis, make_sync_redis
from restosync_adapters.redis.mapping_invalidation import RedisMappingInvalidation
from restosync_adapters.redis.rate_limiter import RedisAuthThrottle, RedisRateLimiter
from restosync_adapters.redis.token_cache import RedisAgentTokenCache
from restosync_adapters.rq_queue import JsonJob, RqJobQueue, RqReconciliationQueue
from restosync_adapters.settings import Settings
from restosync_core.policies.breaker import BreakerPolicy
from restosync_core.policies.reconciliation import BlastRadius, SearchLimits
from restosync_core.policies.retention import RetentionPolicy
from restosync_core.policies.retry import RetryPolicy
from restosync_core.ports.agent_client import AgentClient, AgentDirectory
from restosync_core.ports.agents import AgentTokenCache, TokenHasher
from restosync_core.ports.alerts import AlertNotifier, AlertSink, AlertThrottle
from restosync_core.ports.breaker import CircuitBreaker
from restosync_core.ports.clock import Clock, SystemClock
from restosync_core.ports.health import HealthProbe
from restosync_core.ports.locks import TryLock
from restosync_core.ports.mappings import MappingInvalidation, MappingLookup, MappingResolver
from restosync_core.ports.metrics import IngestCounter, SyncMetricsReader
from restosync_core.ports.orders import SyncJobClaims
from restosync_core.ports.queue import JobQueue
from restosync_core.ports.rate_limit import RateCharge, RateDecision, RateLimiter
from restosync_core.ports.reconciliation import (
    CatalogDigests,
    ReconciliationAgent,
    ReconciliationQueue,
    ReconciliationRuns,
)
from restosync_core.ports.retention import Expiring, RetentionStore
from restosync_core.ports.task_runs import TaskRuns
from restosync_core.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from restosync_core.use_cases.alert_dead_letters import AlertDeadLetters
from restosync_core.use_cases.authenticate_agent import AuthenticateAgent
from restosync_core.use_cases.check_agent_health import CheckAgentHealth
from restosync_core.use_cases.cleanup_expired_jobs import CleanupExpiredJobs
from restosync_core.use_cases.create_mapping import CreateMapping
from restosync_core.use_cases.delete_expired_rows import DeleteExpiredRows
from restosync_core.use_cases.delete_mapping import DeleteMapping
from restosync_core.use_cases.deliver_order import DeliverOrder
from restosync_core.use_cases.deregister_agent import DeregisterAgent
from restosync_core.use_cases.detect_drift import DetectDrift
from restosync_core.use_cases.get_agent import GetAgent
from restosync_core.use_cases.get_dead_letter import GetDeadLetter
from restosync_core.use_cases.get_mapping import GetMapping
from restosync_core.use_cases.get_order import GetOrder
from restosync_core.use_cases.get_sync_job import GetSyncJob
from restosync_core.use_cases.get_sync_status import GetSyncStatus
from restosync_core.use_cases.handle_order_callback import HandleOrderCallback
from restosync_core.use_cases.ingest_items import IngestItems
from restosync_core.use_cases.ingest_stock import IngestStock
from restosync_core.use_cases.ingest_warehouses import IngestWarehouses
from restosync_core.use_cases.list_agents import ListAgents
from restosync_core.use_cases.list_dead_letters import ListDeadLetters
from restosync_core.use_cases.list_mappings import ListMappings
from restosync_core.use_cases.list_sync_jobs import ListSyncJobs
from restosync_core.use_cases.place_order import PlaceOrder
from restosync_core.use_cases.reconcile_vendor import RunReconciliation
from restosync_core.use_cases.reconciliation_reads import (
    GetReconciliationMetrics,
    GetReconciliationRun,
    ListReconciliationEvents,
)
from restosync_core.use_cases.record_agent_heartbeat import RecordAgentHeartbeat
from restosync_core.use_cases.register_agent import RegisterAgent
from restosync_core.use_cases.report_health import ReportHealth
from restosync_core.use_cases.reset_circuit_breaker import ResetCircuitBreaker
from restosync_core.use_cases.resolve_dead_letter import ResolveDeadLetter
from restosync_core.use_cases.resolve_mappings import CachedMappingResolver
from restosync_core.use_cases.retry_dead_letter import RetryDeadLetter
from restosync_core.use_cases.seed_mappings import SeedMappings
from restosync_core.use_cases.send_alerts import SendAlerts
from restosync_core.use_cases.sweep_sync_jobs import SweepSyncJobs
from restosync_core.use_cases.trigger_reconciliation import TriggerReconciliation
from restosync_core.use_cases.update_agent import UpdateAgent
from restosync_core.use_cases.update_mapping import UpdateMapping
from restosync_core.use_cases.vendor_metrics import GetVendorMetrics

__all__ = [
    "IMAGE_SYNC",
    "LOGICAL_QUEUES",
    "ORDER_SYNC",
    "OVERRIDABLE",
    "RECONCILIATION",
    "JsonJob",
    "Services",
    "bootstrap",
    "rq_queue_name",
]
"""The shells import adapters only through this module (and settings, logging): the services, and the
RQ glue their own RQ classes are built on (the job class, the logical queues and their names)."""

log = logging.getLogger(__name__)

JOB_TIMEOUT_MARGIN_SECONDS = 60

Admit = Callable[[Sequence[RateCharge], str | None], Awaitable[RateDecision]]
"""``await services.admit(charges, vendor_id)``: charge a request's rate limits; for an agent request
(``vendor_id`` from ``X-Vendor-ID``) also read ahead what it will need from Redis, in the same round
trip (``restosync_adapters.redis.read_ahead``)."""

OVERRIDABLE = frozenset(
    {
        "clock",
        "uow",
        "pool",
        "redis",
        "sync_redis",
        "probes",
        "alerts",
        "rate_limiter",
        "token_hasher",
        "token_cache",
        "mapping_lookup",
        "mapping_invalidation",
        "mapping_resolver",
        "queue",
        "breaker",
        "agent_client",
        "agent_directory",
        "sync_job_claims",
        "alert_throttle",
        "alert_notifier",
        "retention",
        "task_runs",
        "try_lock",
        "reconciliation_agent",
        "catalog_digests",
        "reconciliation_runs",
        "reconciliation_queue",
        "sync_metrics",
        "ingest_counter",
    }
)
"""The parts a caller (a test, a bench) may replace: the ports and the connections behind them."""


def retry_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(
        max_attempts=settings.order_max_attempts,
        delays=settings.order_retry_delays,
        claim_seconds=settings.order_claim_seconds,
        callback_timeout_seconds=settings.order_callback_timeout_seconds,
    )


def breaker_policy(settings: Settings) -> BreakerPolicy:
    return BreakerPolicy(
        error_threshold_percent=settings.breaker_error_threshold_percent,
        volume_threshold=settings.breaker_volume_threshold,
        reset_timeout_seconds=settings.breaker_reset_timeout_seconds,
        window_seconds=settings.breaker_window_seconds,
        probe_retry_seconds=min(5.0, settings.breaker_reset_timeout_seconds),
    )


def _charge_only(limiter: RateLimiter) -> Admit:
    async def admit(charges: Sequence[RateCharge], vendor_id: str | None) -> RateDecision:
        return await limiter.hit(charges)

    return admit


def retention_policy(settings: Settings) -> RetentionPolicy:
    return RetentionPolicy(
        completed_jobs=timedelta(hours=settings.retention_completed_jobs_hours),
        failed_jobs=timedelta(days=settings.retention_failed_jobs_days),
        resolved_dead_letters=timedelta(days=settings.retention_resolved_dlq_days),
        reconciliation_events=timedelta(days=settings.retention_reconciliation_events_days),
        unfinished_jobs=timedelta(hours=settings.undelivered_job_max_hours),
        chunk_size=settings.retention_chunk_size,
    )


def search_limits(settings: Settings) -> SearchLimits:
    return SearchLimits(leaf_rows=settings.reconciliation_leaf_rows,
                        max_agent_calls=settings.reconciliation_max_agent_calls)


def blast_radius(settings: Settings) -> BlastRadius:
    return BlastRadius(max_share=settings.reconciliation_max_change_share,
                       min_rows=settings.reconciliation_max_change_min_rows)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class Services:
    """Everything one process uses, built once by ``bootstrap``; the shells read from here."""

    settings: Settings
    # --- ports and connections
    clock: Clock
    uow: UnitOfWorkFactory
    pool: AsyncConnectionPool
    redis: aioredis.Redis
    sync_redis: SyncRedis
    """The blocking Redis client RQ and rq-scheduler need (raw bytes, no decoding)."""
    probes: list[HealthProbe]
    try_lock: TryLock
    alerts: AlertSink
    rate_limiter: RateLimiter
    admit: Admit
    auth_throttle: RedisAuthThrottle | None
    """Failed authentications per IP and vendor (``None`` with RATE_LIMITS_ENABLED=false or a replaced limiter)."""
    mapping_resolver: MappingResolver
    mapping_invalidation: MappingInvalidation
    queue: JobQueue
    breaker: CircuitBreaker
    agent_client: AgentClient
    agent_directory: AgentDirectory
    # --- use cases: agents
    register_agent: RegisterAgent
    authenticate_agent: AuthenticateAgent
    record_heartbeat: RecordAgentHeartbeat
    deregister_agent: DeregisterAgent
    get_agent: GetAgent
    list_agents: ListAgents
    update_agent: UpdateAgent
    check_agent_health: CheckAgentHealth
    # --- use cases: mappings
    list_mappings: ListMappings
    get_mapping: GetMapping
    create_mapping: CreateMapping
    update_mapping: UpdateMapping
    delete_mapping: DeleteMapping
    seed_mappings: SeedMappings
    # --- use cases: ingest
    ingest_items: IngestItems
    ingest_stock: IngestStock
    ingest_warehouses: IngestWarehouses
    # --- use cases: orders (docs/orders.md)
    place_order: PlaceOrder
    deliver_order: DeliverOrder
    handle_order_callback: HandleOrderCallback
    sweep_sync_jobs: SweepSyncJobs
    retry_dead_letter: RetryDeadLetter
    resolve_dead_letter: ResolveDeadLetter
    list_dead_letters: ListDeadLetters
    get_dead_letter: GetDeadLetter
    list_sync_jobs: ListSyncJobs
    get_sync_job: GetSyncJob
    get_sync_status: GetSyncStatus
    get_order: GetOrder
    reset_circuit_breaker: ResetCircuitBreaker
    # --- use cases: health
    report_health: ReportHealth
    # --- reconciliation (REQ-9, docs/reconciliation.md)
    reconciliation_agent: ReconciliationAgent
    catalog_digests: CatalogDigests
    reconciliation_runs: ReconciliationRuns
    reconciliation_queue: ReconciliationQueue
    trigger_reconciliation: TriggerReconciliation
    run_reconciliation: RunReconciliation
    get_reconciliation_run: GetReconciliationRun
    list_reconciliation_events: ListReconciliationEvents
    get_reconciliation_metrics: GetReconciliationMetrics
    # --- per-vendor sync metrics (REQ-11, docs/performance.md#per-vendor-sync-metrics)
    sync_metrics: SyncMetricsReader
    ingest_counter: IngestCounter
    """Every agent push adds to it (once per push); reconciliation's repairs do not."""
    get_vendor_metrics: GetVendorMetrics
    # --- scheduled maintenance and alerts (REQ-10, docs/operations.md)
    task_runs: TaskRuns
    detect_drift: DetectDrift
    alert_dead_letters: AlertDeadLetters
    cleanup_expired_jobs: CleanupExpiredJobs
    cleanup_resolved_dead_letters: DeleteExpiredRows
    archive_reconciliation_events: DeleteExpiredRows
    _on_start: list[Callable[[], Awaitable[Any]]] = field(default_factory=list)
    _on_stop: list[Callable[[], Awaitable[Any]]] = field(default_factory=list)

    async def start(self) -> None:
        for hook in self._on_start:
            await hook()

    async def stop(self) -> None:
        for hook in reversed(self._on_stop):
            try:
                await hook()
            except Exception:
                log.exception("error while stopping")


def bootstrap(
    settings: Settings | None = None,
    *,
    pool_size: int | None = None,
    synchronous_commit: bool = True,
    worker: str | None = None,
    **overrides: Any,
) -> Services:
    """Build the real services from ``settings`` (default: the environment); ``overrides`` replace ports.

    ``synchronous_commit=False`` only for processes whose every write is redone if lost (workers).
    ``worker``: the name this process claims sync jobs under (default ``host:pid``).
    """
    unknown = sorted(set(overrides) - OVERRIDABLE)
    if unknown:
        raise TypeError(
            f"bootstrap() got unknown override(s) {', '.join(unknown)}; "
            f"the parts that can be replaced are: {', '.join(sorted(OVERRIDABLE))}"
        )
    settings = settings or Settings.from_env()

    def part(name: str, build: Callable[[], Any]) -> Any:
        """The override of ``name`` if one was given, else the real one (built only then)."""
        value = overrides.get(name)
        return value if value is not None else build()

    prefix = settings.redis_prefix
    pool: AsyncConnectionPool = part(
        "pool",
        lambda: make_pool(
            settings.database_url, max_size=pool_size or settings.db_pool_size, synchronous_commit=synchronous_commit
        ),
    )
    async_redis: aioredis.Redis = part("redis", lambda: make_async_redis(settings.redis_url))
    sync_redis: SyncRedis = part("sync_redis", lambda: make_sync_redis(settings.redis_url))
    clock: Clock = part("clock", SystemClock)

    def pg_uow(*, autocommit: bool = False) -> UnitOfWork:
        return PgUnitOfWork(pool, autocommit=autocommit)

    uow: UnitOfWorkFactory = part("uow", lambda: pg_uow)
    probes: list[HealthProbe] = part(
        "probes",
        lambda: [
            DatabaseProbe(pool),
            RedisProbe(async_redis),
            QueuesProbe(async_redis, prefix),
            AgentsProbe(pool),
            MemoryProbe(settings.memory_max_rss_mb),
            DiskProbe(settings.disk_min_free_mb),
        ],
    )
    # alerts: always logged; told to Slack (when configured) once per key per window, shared through Redis
    alert_throttle: AlertThrottle = part("alert_throttle", lambda: RedisAlertThrottle(async_redis, prefix))
    alert_notifier: AlertNotifier | None = part(
        "alert_notifier",
        lambda: SlackNotifier(settings.slack_webhook_url, timeout_seconds=settings.slack_timeout_seconds)
        if settings.slack_webhook_url
        else None,
    )
    alerts: AlertSink = part(
        "alerts",
        lambda: SendAlerts(LoggingAlertSink(), alert_throttle, alert_notifier, settings.alert_dedup_window_seconds),
    )
    rate_limiter: RateLimiter = part("rate_limiter", lambda: RedisRateLimiter(async_redis, prefix))
    hasher: TokenHasher = part("token_hasher", BcryptTokenHasher)
    tokens: AgentTokenCache = part(
        "token_cache",
        lambda: RedisAgentTokenCache(async_redis, prefix, settings.agent_secret, settings.agent_token_cache_ttl),
    )

    admit: Admit = (
        RedisAdmission(async_redis, prefix, rate_limiter, tokens).admit
        if isinstance(rate_limiter, RedisRateLimiter) and isinstance(tokens, RedisAgentTokenCache)
        else _charge_only(rate_limiter)  # a replaced limiter or cache (tests): nothing to read ahead with
    )
    auth_throttle = (
        RedisAuthThrottle(
            async_redis, rate_limiter, per_ip=settings.auth_failures_per_ip,
            per_vendor=settings.auth_failures_per_vendor, window_seconds=settings.auth_failure_window_seconds,
        )
        if settings.rate_limits_enabled and isinstance(rate_limiter, RedisRateLimiter) else None
    )

    # --- mappings: one resolver (and its cache) per process, kept fresh through Redis
    invalidation: MappingInvalidation = part(
        "mapping_invalidation", lambda: RedisMappingInvalidation(async_redis, prefix)
    )
    lookup: MappingLookup = part("mapping_lookup", lambda: PgMappingLookup(pool))
    resolver: MappingResolver = part(
        "mapping_resolver",
        lambda: CachedMappingResolver(
            lookup=lookup,
            invalidation=invalidation,
            clock=clock,
            ttl_seconds=settings.mapping_cache_ttl_seconds,
            max_entries=settings.mapping_cache_max_entries,
            redis_retry_seconds=settings.mapping_cache_redis_retry_seconds,
        ),
    )

    # --- orders: delivery to agents through RQ, the shared breaker and httpx (docs/orders.md)
    policy = retry_policy(settings)
    queue: JobQueue = part(
        "queue",
        lambda: RqJobQueue(
            sync_redis,
            prefix,
            job_timeout_seconds=int(settings.agent_timeout_seconds + JOB_TIMEOUT_MARGIN_SECONDS),
            stale_after_seconds=settings.order_claim_seconds,
        ),
    )
    breaker: CircuitBreaker = part(
        "breaker",
        lambda: RedisCircuitBreaker(
            async_redis,
            prefix,
            breaker_policy(settings),
            clock,
            alerts=alerts,
            probe_ttl_seconds=settings.agent_timeout_seconds + 5,
            state_refresh_seconds=settings.breaker_state_refresh_ms / 1000,
        ),
    )
    agent_client: AgentClient = part(
        "agent_client",
        lambda: HttpxAgentClient(
            timeout_seconds=settings.agent_timeout_seconds, url_policy=settings.agent_url_policy
        ),
    )
    directory: AgentDirectory = part("agent_directory", lambda: PgAgentDirectory(pool))
    claims: SyncJobClaims = part("sync_job_claims", lambda: PgSyncJobClaims(pool))
    retention: RetentionStore = part("retention", lambda: PgRetentionStore(pool))
    task_runs: TaskRuns = part("task_runs", lambda: PgTaskRuns(pool))
    kept = retention_policy(settings)
    try_lock: TryLock = part("try_lock", lambda: functools.partial(try_advisory_lock, pool))

    # --- reconciliation: the agent's side over httpx (the order client's), ours in PostgreSQL, runs on RQ
    reconciliation_agent: ReconciliationAgent = part(
        "reconciliation_agent",
        lambda: agent_client if isinstance(agent_client, HttpxAgentClient) else HttpxAgentClient(
            timeout_seconds=settings.agent_timeout_seconds, url_policy=settings.agent_url_policy
        ),
    )
    digests: CatalogDigests = part("catalog_digests", lambda: PgCatalogDigests(pool))
    runs: ReconciliationRuns = part("reconciliation_runs", lambda: PgReconciliationRuns(pool))
    reconciliation_queue: ReconciliationQueue = part(
        "reconciliation_queue",
        lambda: RqReconciliationQueue(
            sync_redis, prefix, job_timeout_seconds=settings.reconciliation_job_timeout_seconds
        ),
    )
    # --- metrics: pushes counted as they are stored; figures read set-based (restosync_adapters.postgres.metrics)
    sync_metrics: SyncMetricsReader = part("sync_metrics", lambda: PgSyncMetricsReader(pool))
    ingest_counter: IngestCounter = part(
        "ingest_counter", lambda: CoalescedIngestCounter(PgIngestCounter(pool), INGEST_COUNTS_FLUSH_SECONDS)
    )

    ingest_items = IngestItems(uow, resolver, clock, settings.ingest_chunk_size, ingest_counter)
    ingest_stock = IngestStock(uow, clock, settings.ingest_chunk_size, ingest_counter)
    trigger_reconciliation = TriggerReconciliation(uow, runs, reconciliation_queue, clock)

    url_policy = settings.agent_url_policy
    chunk = settings.ingest_chunk_size
    services = Services(
        settings=settings,
        clock=clock,
        uow=uow,
        pool=pool,
        redis=async_redis,
        sync_redis=sync_redis,
        probes=probes,
        try_lock=try_lock,
        alerts=alerts,
        rate_limiter=rate_limiter,
        admit=admit,
        auth_throttle=auth_throttle,
        mapping_resolver=resolver,
        mapping_invalidation=invalidation,
        queue=queue,
        breaker=breaker,
        agent_client=agent_client,
        agent_directory=directory,
        # agents: bcrypt off the hot path via the token cache
        register_agent=RegisterAgent(uow, hasher, tokens, clock, url_policy),
        authenticate_agent=AuthenticateAgent(uow, hasher, tokens, auth_throttle),
        record_heartbeat=RecordAgentHeartbeat(uow, clock, flush_interval=settings.agent_heartbeat_flush_seconds),
        deregister_agent=DeregisterAgent(uow, tokens, clock),
        get_agent=GetAgent(uow, clock),
        list_agents=ListAgents(uow, clock),
        update_agent=UpdateAgent(uow, clock, url_policy),
        check_agent_health=CheckAgentHealth(uow, clock, alerts),
        # mappings
        list_mappings=ListMappings(uow),
        get_mapping=GetMapping(uow),
        create_mapping=CreateMapping(uow, invalidation, clock),
        update_mapping=UpdateMapping(uow, invalidation, clock),
        delete_mapping=DeleteMapping(uow, invalidation, clock),
        seed_mappings=SeedMappings(uow, invalidation, max_rows=settings.mapping_seed_max_rows),
        # ingest: the three push pipelines (items need the mapping resolver)
        ingest_items=ingest_items,
        ingest_stock=ingest_stock,
        ingest_warehouses=IngestWarehouses(uow, clock, chunk, ingest_counter),
        # orders
        place_order=PlaceOrder(uow, queue, clock, policy),
        deliver_order=DeliverOrder(
            uow, queue, clock, policy, directory, agent_client, breaker, worker or worker_name(), claims
        ),
        handle_order_callback=HandleOrderCallback(uow, queue, clock, policy),
        sweep_sync_jobs=SweepSyncJobs(uow, queue, clock),
        retry_dead_letter=RetryDeadLetter(uow, queue, clock, policy),
        resolve_dead_letter=ResolveDeadLetter(uow, clock),
        list_dead_letters=ListDeadLetters(uow),
        get_dead_letter=GetDeadLetter(uow),
        list_sync_jobs=ListSyncJobs(uow),
        get_sync_job=GetSyncJob(uow),
        get_sync_status=GetSyncStatus(uow),
        get_order=GetOrder(uow),
        reset_circuit_breaker=ResetCircuitBreaker(uow, breaker),
        report_health=ReportHealth(probes),
        # reconciliation (docs/reconciliation.md)
        reconciliation_agent=reconciliation_agent,
        catalog_digests=digests,
        reconciliation_runs=runs,
        reconciliation_queue=reconciliation_queue,
        trigger_reconciliation=trigger_reconciliation,
        run_reconciliation=RunReconciliation(
            runs=runs, digests=digests, agent=reconciliation_agent, breaker=breaker, uow=uow,
            # its repairs are not agent pushes: written by the same use cases, not counted
            write_items=replace(ingest_items, counter=None), write_stock=replace(ingest_stock, counter=None),
            alerts=alerts, clock=clock, try_lock=try_lock,
            limits=search_limits(settings), blast_radius=blast_radius(settings),
            parallel_calls=settings.reconciliation_parallel_calls,
        ),
        get_reconciliation_run=GetReconciliationRun(runs),
        list_reconciliation_events=ListReconciliationEvents(runs),
        get_reconciliation_metrics=GetReconciliationMetrics(runs, clock),
        # metrics
        sync_metrics=sync_metrics,
        ingest_counter=ingest_counter,
        get_vendor_metrics=GetVendorMetrics(sync_metrics, ingest_counter, uow, breaker, clock, kept.completed_jobs),
        # scheduled maintenance (restosync_worker/cron.py)
        task_runs=task_runs,
        detect_drift=DetectDrift(uow, trigger_reconciliation),
        alert_dead_letters=AlertDeadLetters(uow, alerts, clock),
        cleanup_expired_jobs=CleanupExpiredJobs(uow, retention, alerts, clock, kept),
        cleanup_resolved_dead_letters=DeleteExpiredRows(retention, clock, Expiring.RESOLVED_DEAD_LETTERS, kept),
        archive_reconciliation_events=DeleteExpiredRows(retention, clock, Expiring.RECONCILIATION_EVENTS, kept),
    )
    _lifecycle(services)
    return services


def _lifecycle(services: Services) -> None:
    """What ``start()`` opens and ``stop()`` closes (stop hooks run last-added first)."""
    pool, async_redis, sync_redis = services.pool, services.redis, services.sync_redis

    async def open_pool() -> None:
        await pool.open(wait=False)

    async def close_pool() -> None:
        await pool.close()
        log.info("closed the database pool")

    async def close_redis() -> None:
        await async_redis.aclose()
        sync_redis.close()
        log.info("closed the Redis clients")

    async def close_agent_client() -> None:
        if isinstance(services.agent_client, HttpxAgentClient):
            await services.agent_client.aclose()
        recon = services.reconciliation_agent
        if isinstance(recon, HttpxAgentClient) and recon is not services.agent_client:
            await recon.aclose()

    services._on_start.append(open_pool)
    services._on_stop.append(close_pool)
    services._on_stop.append(close_redis)
    if isinstance(services.breaker, RedisCircuitBreaker):
        services._on_stop.append(services.breaker.flush)  # before Redis closes: good calls counted
    services._on_stop.append(services.record_heartbeat.close)  # before the pool closes
    if isinstance(services.ingest_counter, CoalescedIngestCounter):
        services._on_stop.append(services.ingest_counter.close)  # before the pool closes
    services._on_stop.append(close_agent_client)
    if isinstance(services.alerts, SendAlerts) and isinstance(services.alerts.notifier, SlackNotifier):
        notifier = services.alerts.notifier

        async def close_slack() -> None:  # what is queued gets 2 s more, in a thread (never blocks the loop)
            await asyncio.to_thread(notifier.close)

        services._on_stop.append(close_slack)
