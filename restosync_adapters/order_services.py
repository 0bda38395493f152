"""Order delivery, wired: the use cases of docs/orders.md built on PostgreSQL, RQ, Redis and httpx."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass

import redis.asyncio as aioredis
from psycopg_pool import AsyncConnectionPool

from restosync_adapters.agent_client import HttpxAgentClient
from restosync_adapters.breaker import RedisCircuitBreaker
from restosync_adapters.postgres.agent_directory import PgAgentDirectory
from restosync_adapters.postgres.sync_jobs import PgSyncJobClaims
from restosync_adapters.rq_queue import RqJobQueue
from restosync_adapters.settings import Settings
from restosync_core.policies.breaker import BreakerPolicy
from restosync_core.policies.retry import RetryPolicy
from restosync_core.ports.agent_client import AgentClient, AgentDirectory
from restosync_core.ports.alerts import AlertSink
from restosync_core.ports.breaker import CircuitBreaker
from restosync_core.ports.clock import Clock
from restosync_core.ports.queue import JobQueue
from restosync_core.ports.unit_of_work import UnitOfWorkFactory
from restosync_core.use_cases.deliver_order import DeliverOrder
from restosync_core.use_cases.handle_order_callback import HandleOrderCallback
from restosync_core.use_cases.place_order import PlaceOrder
from restosync_core.use_cases.reset_circuit_breaker import ResetCircuitBreaker
from restosync_core.use_cases.resolve_dead_letter import ResolveDeadLetter
from restosync_core.use_cases.retry_dead_letter import RetryDeadLetter
from restosync_core.use_cases.sweep_sync_jobs import SweepSyncJobs
from restosync_core.use_cases.view_dead_letters import ViewDeadLetters
from restosync_core.use_cases.view_orders import ViewOrders
from restosync_core.use_cases.view_sync_jobs import ViewSyncJobs

JOB_TIMEOUT_MARGIN_SECONDS = 60


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


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class OrderServices:
    """Everything the order shells call; built once per process."""

    place: PlaceOrder
    deliver: DeliverOrder
    callback: HandleOrderCallback
    sweep: SweepSyncJobs
    retry_dead_letter: RetryDeadLetter
    resolve_dead_letter: ResolveDeadLetter
    dead_letters: ViewDeadLetters
    sync_jobs: ViewSyncJobs
    view_orders: ViewOrders
    breaker: CircuitBreaker
    reset_breaker: ResetCircuitBreaker
    queue: JobQueue
    agent_client: AgentClient
    directory: AgentDirectory


def build_order_services(
    settings: Settings,
    *,
    uow: UnitOfWorkFactory,
    clock: Clock,
    pool: AsyncConnectionPool,
    redis: aioredis.Redis,
    alerts: AlertSink | None,
    queue: JobQueue | None = None,
    breaker: CircuitBreaker | None = None,
    agent_client: AgentClient | None = None,
    directory: AgentDirectory | None = None,
) -> OrderServices:
    policy = retry_policy(settings)
    queue = queue or RqJobQueue(
        settings.redis_url,
        settings.redis_prefix,
        job_timeout_seconds=int(settings.agent_timeout_seconds + JOB_TIMEOUT_MARGIN_SECONDS),
    )
    breaker = breaker or RedisCircuitBreaker(
        redis,
        settings.redis_prefix,
        breaker_policy(settings),
        clock,
        alerts=alerts,
        probe_ttl_seconds=settings.agent_timeout_seconds + 5,
        state_refresh_seconds=settings.breaker_state_refresh_ms / 1000,
    )
    agent_client = agent_client or HttpxAgentClient(
        settings.agent_secret, timeout_seconds=settings.agent_timeout_seconds, url_policy=settings.agent_url_policy
    )
    directory = directory or PgAgentDirectory(pool)
    return OrderServices(
        place=PlaceOrder(uow, queue, clock, policy),
        deliver=DeliverOrder(
            uow, queue, clock, policy, directory, agent_client, breaker, worker_name(), PgSyncJobClaims(pool)
        ),
        callback=HandleOrderCallback(uow, queue, clock, policy),
        sweep=SweepSyncJobs(uow, queue, clock),
        retry_dead_letter=RetryDeadLetter(uow, queue, clock),
        resolve_dead_letter=ResolveDeadLetter(uow, clock),
        dead_letters=ViewDeadLetters(uow),
        sync_jobs=ViewSyncJobs(uow),
        view_orders=ViewOrders(uow),
        breaker=breaker,
        reset_breaker=ResetCircuitBreaker(uow, breaker),
        queue=queue,
        agent_client=agent_client,
        directory=directory,
    )


async def close_order_services(orders: OrderServices) -> None:
    if isinstance(orders.agent_client, HttpxAgentClient):
        await orders.agent_client.aclose()
    if isinstance(orders.queue, RqJobQueue):
        orders.queue.close()
