"""The composition root: builds settings, pools, clients, adapters and use cases for one process.

The API, the worker, the scheduler and the tests all start here. Nothing is
connected until ``await services.start()``; ``await services.stop()`` closes it
all. Tests pass fakes as keyword overrides.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
from psycopg_pool import AsyncConnectionPool

from restosync_adapters.alerts import LoggingAlertSink
from restosync_adapters.breaker import RedisCircuitBreaker
from restosync_adapters.health import (
    AgentsProbe,
    DatabaseProbe,
    DiskProbe,
    MemoryProbe,
    QueuesProbe,
    RedisProbe,
)
from restosync_adapters.order_services import OrderServices, build_order_services, close_order_services
from restosync_adapters.passwords import BcryptTokenHasher
from restosync_adapters.postgres.mappings import PgMappingLookup
from restosync_adapters.postgres.pool import make_pool
from restosync_adapters.postgres.unit_of_work import PgUnitOfWork
from restosync_adapters.redis.clients import make_async_redis
from restosync_adapters.redis.mapping_invalidation import RedisMappingInvalidation
from restosync_adapters.redis.rate_limiter import RedisRateLimiter
from restosync_adapters.redis.token_cache import RedisAgentTokenCache
from restosync_adapters.settings import Settings
from restosync_core.ports.alerts import AlertSink
from restosync_core.ports.clock import Clock, SystemClock
from restosync_core.ports.health import HealthProbe
from restosync_core.ports.mappings import MappingInvalidation, MappingResolver
from restosync_core.ports.rate_limit import RateLimiter
from restosync_core.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from restosync_core.use_cases.agent_registry import AgentRegistry
from restosync_core.use_cases.ingest_items import IngestItems
from restosync_core.use_cases.ingest_stock import IngestStock
from restosync_core.use_cases.ingest_warehouses import IngestWarehouses
from restosync_core.use_cases.resolve_mappings import CachedMappingResolver

log = logging.getLogger(__name__)


@dataclass
class Services:
    """Everything one process uses, built once; the shells read from here."""

    settings: Settings
    clock: Clock
    uow: UnitOfWorkFactory
    probes: list[HealthProbe]
    pool: AsyncConnectionPool | None = None
    redis: aioredis.Redis | None = None
    # --- mappings (always set by bootstrap(); None only in a hand-built Services)
    mapping_resolver: MappingResolver = None  # type: ignore[assignment]
    mapping_invalidation: MappingInvalidation = None  # type: ignore[assignment]
    # --- agents, alerts and rate limits (always set by bootstrap())
    agents: AgentRegistry = None  # type: ignore[assignment]
    alerts: AlertSink = None  # type: ignore[assignment]
    rate_limiter: RateLimiter = None  # type: ignore[assignment]
    # --- ingest (always set by bootstrap())
    ingest_items: IngestItems = None  # type: ignore[assignment]
    ingest_stock: IngestStock = None  # type: ignore[assignment]
    ingest_warehouses: IngestWarehouses = None  # type: ignore[assignment]
    # --- orders: delivery use cases, queue, breaker and agent client (always set by bootstrap())
    orders: OrderServices = None  # type: ignore[assignment]
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
    **overrides: Any,
) -> Services:
    """Build the real services from ``settings`` (default: the environment); ``overrides`` replace parts.

    ``synchronous_commit=False`` only for processes whose every write is redone if lost (workers).
    """
    settings = settings or Settings.from_env()
    pool = overrides.pop("pool", None) or make_pool(
        settings.database_url, max_size=pool_size or settings.db_pool_size, synchronous_commit=synchronous_commit
    )
    redis = overrides.pop("redis", None) or make_async_redis(settings.redis_url)

    def uow() -> UnitOfWork:
        return PgUnitOfWork(pool)

    probes: list[HealthProbe] = [
        DatabaseProbe(pool),
        RedisProbe(redis),
        QueuesProbe(redis, settings.redis_prefix),
        AgentsProbe(pool),
        MemoryProbe(settings.memory_max_rss_mb),
        DiskProbe(settings.disk_min_free_mb),
    ]
    services = Services(
        settings=settings,
        clock=overrides.pop("clock", None) or SystemClock(),
        uow=overrides.pop("uow", None) or uow,
        probes=overrides.pop("probes", None) or probes,
        pool=pool,
        redis=redis,
    )

    async def open_pool() -> None:
        await pool.open(wait=False)

    async def close_pool() -> None:
        await pool.close()
        log.info("closed the database pool")

    async def close_redis() -> None:
        await redis.aclose()
        log.info("closed the Redis client")

    services._on_start.append(open_pool)
    services._on_stop.extend([close_redis, close_pool])

    # --- mappings: one resolver (and its cache) per process, kept fresh through Redis
    services.mapping_invalidation = RedisMappingInvalidation(redis, settings.redis_prefix)
    services.mapping_resolver = CachedMappingResolver(
        lookup=PgMappingLookup(pool),
        invalidation=services.mapping_invalidation,
        clock=services.clock,
        ttl_seconds=settings.mapping_cache_ttl_seconds,
        max_entries=settings.mapping_cache_max_entries,
        redis_retry_seconds=settings.mapping_cache_redis_retry_seconds,
    )
    # --- end mappings

    # --- agents: registry use cases, bcrypt off the hot path via the Redis token cache
    services.alerts = overrides.pop("alerts", None) or LoggingAlertSink()
    services.rate_limiter = overrides.pop("rate_limiter", None) or RedisRateLimiter(redis, settings.redis_prefix)
    services.agents = overrides.pop("agents", None) or AgentRegistry.build(
        uow=services.uow,
        clock=services.clock,
        hasher=overrides.pop("token_hasher", None) or BcryptTokenHasher(),
        tokens=overrides.pop("token_cache", None)
        or RedisAgentTokenCache(redis, settings.redis_prefix, settings.agent_secret, settings.agent_token_cache_ttl),
        alerts=services.alerts,
        heartbeat_flush_seconds=settings.agent_heartbeat_flush_seconds,
        agent_url_policy=settings.agent_url_policy,
    )
    services._on_stop.append(services.agents.heartbeat.close)  # runs before the pool closes
    # --- end agents

    # --- ingest: the three push pipelines (items need the mapping resolver)
    chunk = settings.ingest_chunk_size
    services.ingest_items = IngestItems(services.uow, services.mapping_resolver, services.clock, chunk)
    services.ingest_stock = IngestStock(services.uow, services.clock, chunk)
    services.ingest_warehouses = IngestWarehouses(services.uow, services.clock, chunk)
    # --- end ingest

    # --- orders: delivery to agents through RQ, the shared breaker and httpx (docs/orders.md)
    services.orders = overrides.pop("orders", None) or build_order_services(
        settings, uow=services.uow, clock=services.clock, pool=pool, redis=redis, alerts=services.alerts
    )

    async def close_orders() -> None:
        await close_order_services(services.orders)

    services._on_stop.insert(0, close_orders)
    if isinstance(services.orders.breaker, RedisCircuitBreaker):
        services._on_stop.append(services.orders.breaker.flush)  # runs before Redis closes: good calls counted
    # --- end orders

    for name, value in overrides.items():
        setattr(services, name, value)
    return services
