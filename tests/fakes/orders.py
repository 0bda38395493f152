"""Fakes for order delivery: repositories over ``FakeDatabase``, a queue, a breaker, an agent."""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from restosync_core.errors import AgentUnavailable, CircuitOpen, Conflict, DependencyUnavailable, agent_answered
from restosync_core.model.agents import AgentEndpoint, OutboundCredential
from restosync_core.model.delivery import BreakerKey, BreakerStatus, DeadLetterBacklog, SyncJobFilter
from restosync_core.model.ids import DeadLetterId, OrderId, SyncJobId, VendorId
from restosync_core.model.orders import DeadLetter, Order, OrderStatus, SyncJob, SyncJobStatus
from restosync_core.model.pagination import Page, PageRequest
from restosync_core.policies import breaker as policy
from restosync_core.policies.breaker import BreakerPolicy, BreakerRecord
from restosync_core.policies.retry import UNFINISHED
from restosync_core.ports.clock import Clock

T = TypeVar("T")
FOUR_PLACES = Decimal("0.0001")


def _page(items: list[T], page: PageRequest) -> Page[T]:
    return Page(items=items[page.offset : page.offset + page.limit], page=page.page, limit=page.limit, total=len(items))


class FakeOrderRepository:
    def __init__(self, db: Any) -> None:
        self.rows: dict[OrderId, Order] = db.table("orders")

    async def add(self, order: Order) -> None:
        if any(o.vendor_id == order.vendor_id and o.order_number == order.order_number for o in self.rows.values()):
            raise Conflict("this vendor already has an order with that number")
        # as the numeric(…, 4) columns keep them: four decimal places
        lines = tuple(
            replace(ln, quantity=ln.quantity.quantize(FOUR_PLACES), unit_price=ln.unit_price.quantize(FOUR_PLACES))
            for ln in order.lines
        )
        self.rows[order.id] = replace(order, lines=lines)

    async def get(self, order_id: OrderId) -> Order | None:
        return self.rows.get(order_id)

    async def set_status(
        self, order_id: OrderId, status: OrderStatus, now: datetime, *, erp_reference: str | None = None
    ) -> None:
        order = self.rows[order_id]
        self.rows[order_id] = replace(
            order, status=status, updated_at=now, erp_reference=erp_reference or order.erp_reference
        )


class FakeSyncJobRepository:
    def __init__(self, db: Any) -> None:
        self.db = db
        self.rows: dict[SyncJobId, SyncJob] = db.table("sync_jobs")

    async def add(self, job: SyncJob) -> None:
        self.rows[job.id] = job

    async def get(self, job_id: SyncJobId, *, for_update: bool = False) -> SyncJob | None:
        return self.rows.get(job_id)

    async def save(self, job: SyncJob) -> None:
        current = self.rows[job.id]
        self.rows[job.id] = replace(  # as the real one: what a job is and carries never changes
            job, order_id=current.order_id, vendor_id=current.vendor_id, job_type=current.job_type,
            payload=current.payload, max_attempts=current.max_attempts, correlation_id=current.correlation_id,
            created_at=current.created_at,
        )

    async def save_claimed(self, job: SyncJob, worker: str, attempts: int) -> bool:
        current = self.rows.get(job.id)
        if (
            current is None
            or current.status is not SyncJobStatus.PROCESSING
            or current.claimed_by != worker
            or current.attempts != attempts
        ):
            return False
        self.rows[job.id] = replace(job, payload=current.payload)  # as the real one: the payload is kept
        return True

    async def claim(self, job_id: SyncJobId, worker: str, now: datetime, until: datetime) -> SyncJob | None:
        job = self.rows.get(job_id)
        if job is None or job.status not in UNFINISHED or job.next_attempt_at is None or job.next_attempt_at > now:
            return None
        claimed = replace(
            job,
            status=SyncJobStatus.PROCESSING,
            claimed_by=worker,
            claimed_until=until,
            next_attempt_at=until,
            attempts=job.attempts + 1,
            updated_at=now,
        )
        self.rows[job_id] = claimed
        return claimed

    async def due(self, before: datetime, limit: int) -> list[tuple[SyncJobId, datetime]]:
        due = [
            (j.id, j.next_attempt_at)
            for j in self.rows.values()
            if j.status in UNFINISHED and j.next_attempt_at is not None and j.next_attempt_at <= before
        ]
        due.sort(key=lambda pair: pair[1])
        return due[:limit]

    async def list(self, filter_: SyncJobFilter, page: PageRequest) -> Page[SyncJob]:
        jobs = [
            j
            for j in self.rows.values()
            if (filter_.vendor_id is None or j.vendor_id == filter_.vendor_id)
            and (filter_.status is None or j.status == filter_.status)
        ]
        jobs.sort(key=lambda j: j.id)  # as the SQL: newest first, ties by id
        jobs.sort(key=lambda j: j.created_at, reverse=True)
        return _page(jobs, page)

    async def id_for_order(self, order_id: OrderId) -> SyncJobId | None:
        mine = sorted((j for j in self.rows.values() if j.order_id == order_id), key=lambda j: (j.created_at, j.id))
        return mine[0].id if mine else None

    async def overdue_unfinished(self, before: datetime, now: datetime, limit: int) -> Sequence[SyncJob]:
        retried: dict[SyncJobId, datetime] = {}
        for d in self.db.table("dead_letters").values():
            if d.sync_job_id is not None and d.last_retried_at is not None:
                retried[d.sync_job_id] = max(retried.get(d.sync_job_id, d.last_retried_at), d.last_retried_at)
        overdue = [
            j
            for j in self.rows.values()
            if (
                j.status in (SyncJobStatus.PENDING, SyncJobStatus.SENT)
                or (j.status is SyncJobStatus.PROCESSING and j.claimed_until is not None and j.claimed_until < now)
            )
            and j.created_at < before
            and retried.get(j.id, j.created_at) < before
        ]
        overdue.sort(key=lambda j: j.created_at)
        return overdue[:limit]


class FakeSyncJobClaims:
    """The single-statement claim and outcome writes, straight on the fake tables."""

    def __init__(self, db: Any) -> None:
        self.db = db

    async def claim(self, job_id: SyncJobId, worker: str, now: datetime, until: datetime) -> SyncJob | None:
        return await FakeSyncJobRepository(self.db).claim(job_id, worker, now, until)

    async def save_claimed(self, job: SyncJob, worker: str, attempts: int) -> bool:
        return await FakeSyncJobRepository(self.db).save_claimed(job, worker, attempts)


class FakeDeadLetterRepository:
    def __init__(self, db: Any) -> None:
        self.rows: dict[DeadLetterId, DeadLetter] = db.table("dead_letters")

    async def add(self, job: SyncJob, now: datetime) -> DeadLetter:
        for letter in self.rows.values():
            if letter.sync_job_id == job.id and not letter.resolved:
                refreshed = replace(letter, payload=job.payload, last_error=job.last_error, attempts=job.attempts)
                self.rows[letter.id] = refreshed
                return refreshed
        letter = DeadLetter(
            id=DeadLetterId(uuid.uuid4()),
            sync_job_id=job.id,
            vendor_id=job.vendor_id,
            job_type=job.job_type,
            payload=job.payload,
            last_error=job.last_error,
            attempts=job.attempts,
            resolved=False,
            created_at=now,
        )
        self.rows[letter.id] = letter
        return letter

    async def get(self, letter_id: DeadLetterId, *, for_update: bool = False) -> DeadLetter | None:
        return self.rows.get(letter_id)

    async def for_job(self, job_id: SyncJobId) -> list[DeadLetter]:
        return sorted((d for d in self.rows.values() if d.sync_job_id == job_id), key=lambda d: d.created_at)

    async def list_unresolved(self, page: PageRequest, vendor_id: VendorId | None = None) -> Page[DeadLetter]:
        letters = [
            d for d in self.rows.values() if not d.resolved and (vendor_id is None or d.vendor_id == vendor_id)
        ]
        letters.sort(key=lambda d: (d.created_at, d.id))  # as the SQL: oldest first, ties by id
        return _page(letters, page)

    async def save(self, letter: DeadLetter) -> None:
        current = self.rows[letter.id]
        self.rows[letter.id] = replace(  # as the real one: only the resolution and the retries change
            current, resolved=letter.resolved, resolved_at=letter.resolved_at, retry_count=letter.retry_count,
            last_retried_at=letter.last_retried_at, sync_job_id=letter.sync_job_id,
        )

    async def unresolved_by_vendor(self) -> list[DeadLetterBacklog]:
        per_vendor: dict[VendorId, list[DeadLetter]] = {}
        for d in self.rows.values():
            if not d.resolved:
                per_vendor.setdefault(d.vendor_id, []).append(d)
        return [
            DeadLetterBacklog(vendor, len(letters), min(d.created_at for d in letters))
            for vendor, letters in sorted(per_vendor.items())
        ]

    async def resolve_for_job(self, job_id: SyncJobId, now: datetime) -> int:
        hits = [d for d in self.rows.values() if d.sync_job_id == job_id and not d.resolved]
        for d in hits:
            self.rows[d.id] = replace(d, resolved=True, resolved_at=now)
        return len(hits)


def bind_order_repositories(uow: Any) -> None:
    uow.orders = FakeOrderRepository(uow.db)
    uow.sync_jobs = FakeSyncJobRepository(uow.db)
    uow.dead_letters = FakeDeadLetterRepository(uow.db)


@dataclass
class FakeJobQueue:
    """Wake-ups as a set of (job id, due time), unique like the RQ adapter's; ``lose()`` is a Redis flush."""

    wakes: set[tuple[SyncJobId, datetime]] = field(default_factory=set)
    down: bool = False

    async def wake_delivery(self, job_id: SyncJobId, due_at: datetime) -> bool:
        if self.down:
            raise DependencyUnavailable("the queue is down")
        if (job_id, due_at) in self.wakes:
            return False
        self.wakes.add((job_id, due_at))
        return True

    def take_due(self, now: datetime) -> list[SyncJobId]:
        """Pop every wake-up due at ``now``, soonest first (what the workers would run)."""
        due = sorted((w for w in self.wakes if w[1] <= now), key=lambda w: w[1])
        for w in due:
            self.wakes.discard(w)
        return [w[0] for w in due]

    def lose(self) -> None:
        self.wakes.clear()


class FakeCircuitBreaker:
    """The core's breaker policy over a dict (the real adapter keeps the same records in Redis)."""

    def __init__(self, clock: Clock, breaker_policy: BreakerPolicy | None = None) -> None:
        self.clock = clock
        self.policy = breaker_policy or BreakerPolicy()
        self.records: dict[BreakerKey, BreakerRecord] = {}
        self.probing: set[BreakerKey] = set()
        self.transitions: list[tuple[BreakerKey, str, str]] = []

    def _set(self, key: BreakerKey, record: BreakerRecord) -> None:
        before = self.records.get(key, BreakerRecord()).state
        if record.state != before:
            self.transitions.append((key, before.value, record.state.value))
        self.records[key] = record

    async def call(self, key: BreakerKey, fn: Callable[[], Awaitable[T]]) -> T:
        now = self.clock.now()
        admission = policy.admit(self.records.get(key, BreakerRecord()), now, self.policy)
        if not admission.allowed or (admission.probe and key in self.probing):
            assert admission.retry_at is not None
            raise CircuitOpen(f"the breaker {key} is open", retry_at=admission.retry_at)
        self._set(key, admission.record)
        if admission.probe:
            self.probing.add(key)
        try:
            result = await fn()
        except Exception as exc:
            ok = not policy.counts_as_failure(exc)
            self._set(key, policy.record_call(self.records[key], self.clock.now(), ok, self.policy))
            raise
        finally:
            self.probing.discard(key)
        self._set(key, policy.record_call(self.records[key], self.clock.now(), True, self.policy))
        return result

    async def status(self) -> list[BreakerStatus]:
        now = self.clock.now()
        ordered = sorted(self.records.items(), key=lambda kv: str(kv[0]))
        return [policy.status_of(k, r, now, self.policy) for k, r in ordered]

    async def reset(self, key: BreakerKey) -> BreakerStatus:
        self._set(key, BreakerRecord())
        return policy.status_of(key, BreakerRecord(), self.clock.now(), self.policy)


@dataclass
class Delivery:
    agent_url: str
    job_id: SyncJobId
    correlation_id: uuid.UUID
    payload: dict[str, object]


@dataclass
class FakeAgentClient:
    """Answers 2xx unless told otherwise: ``fail_next(status)`` or ``down = True``."""

    received: list[Delivery] = field(default_factory=list)
    failures: list[int | None] = field(default_factory=list)
    down: bool = False

    def fail_next(self, *statuses: int | None) -> None:
        """Queue answers for the next calls: a status code, or None for a timeout."""
        self.failures.extend(statuses)

    async def create_order(
        self, agent: AgentEndpoint, *, job_id: SyncJobId, correlation_id: uuid.UUID, payload: dict[str, object]
    ) -> None:
        if self.down:
            raise AgentUnavailable("connection refused")
        if self.failures:
            status = self.failures.pop(0)
            if status is None:
                raise AgentUnavailable("timed out")
            raise agent_answered(status, f"the agent answered {status}")
        self.received.append(Delivery(agent.url, job_id, correlation_id, payload))


def fake_credential(vendor_id: str) -> OutboundCredential:
    """A vendor's outbound credential in the fakes: fixed, and different for each vendor."""
    key = hashlib.sha256(vendor_id.encode()).digest()
    return OutboundCredential(f"rso_out_fake-{vendor_id}", "whsec_" + base64.b64encode(key).decode())


@dataclass
class FakeAgentDirectory:
    urls: dict[str, str] = field(default_factory=dict)

    async def endpoint(self, vendor_id: VendorId) -> AgentEndpoint | None:
        url = self.urls.get(vendor_id)
        return None if url is None else AgentEndpoint(url, fake_credential(vendor_id))
