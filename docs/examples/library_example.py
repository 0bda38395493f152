"""restosync's core as a library: adapters of your own, in memory, under three of its use cases.

Ingest a vendor's items and read what happened to each row; place an order and
deliver it to the vendor's agent, once while the agent is down and once after.
Everything outside the core is written here, in a few lines per port: that is
all a use case needs. Run it with ``python docs/examples/library_example.py``
(``tests/unit/test_library_example.py`` runs it too). See ``docs/library.md``.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import TracebackType
from typing import Self, TypeVar, cast

from restosync_core import (
    Agent,
    AgentEndpoint,
    AgentId,
    AgentStatus,
    AgentUnavailable,
    BreakerKey,
    BreakerState,
    BreakerStatus,
    CodeKey,
    Conflict,
    DeliverOrder,
    DeliveryOutcome,
    IngestItems,
    IngestReport,
    Item,
    ItemWrite,
    MappingResult,
    MappingType,
    NewOrder,
    NewOrderLine,
    Order,
    OrderId,
    OrderStatus,
    PlaceOrder,
    RetryPolicy,
    StoredVersion,
    SyncJob,
    SyncJobId,
    SyncJobStatus,
    UnitOfWorkFactory,
    VendorId,
)

T = TypeVar("T")
VENDOR = VendorId("bistro-1")
UNFINISHED = (SyncJobStatus.PENDING, SyncJobStatus.PROCESSING, SyncJobStatus.SENT)


# ---------------------------------------------------------------- your database: a few dicts


@dataclass
class Tables:
    items: dict[tuple[VendorId, str], ItemWrite] = field(default_factory=dict)
    agents: dict[VendorId, Agent] = field(default_factory=dict)
    orders: dict[OrderId, Order] = field(default_factory=dict)
    sync_jobs: dict[SyncJobId, SyncJob] = field(default_factory=dict)


class MemoryItems:
    """``ItemRepository``: stores a row unless what is stored is the same or newer (the port's guard)."""

    def __init__(self, tables: Tables) -> None:
        self.rows = tables.items

    async def stored_versions(self, vendor_id: VendorId, skus: Sequence[str]) -> dict[str, StoredVersion]:
        stored = {sku: self.rows.get((vendor_id, sku)) for sku in skus}
        return {sku: StoredVersion(w.content_hash, w.item.updated_at) for sku, w in stored.items() if w}

    async def upsert(self, vendor_id: VendorId, chunks: Iterable[Sequence[ItemWrite]], synced_at: datetime) -> set[str]:
        written = set()
        for chunk in chunks:
            for write in chunk:
                old = self.rows.get((vendor_id, write.item.sku))
                newer = old is None or old.item.updated_at <= write.item.updated_at
                if old is None or (newer and old.content_hash != write.content_hash):
                    self.rows[(vendor_id, write.item.sku)] = write
                    written.add(write.item.sku)
        return written


class MemoryAgents:
    """The one ``AgentRepository`` method placing an order reads: is there an agent to deliver to?"""

    def __init__(self, tables: Tables) -> None:
        self.rows = tables.agents

    async def get(self, vendor_id: VendorId) -> Agent | None:
        return self.rows.get(vendor_id)


class MemoryOrders:
    def __init__(self, tables: Tables) -> None:
        self.rows = tables.orders

    async def add(self, order: Order) -> None:
        if any((o.vendor_id, o.order_number) == (order.vendor_id, order.order_number) for o in self.rows.values()):
            raise Conflict("this vendor already has an order with that number")
        self.rows[order.id] = order


class MemorySyncJobs:
    """``SyncJobRepository`` (what these use cases call) and ``SyncJobClaims``: a claim is a conditional write."""

    def __init__(self, tables: Tables) -> None:
        self.rows = tables.sync_jobs

    async def add(self, job: SyncJob) -> None:
        self.rows[job.id] = job

    async def claim(self, job_id: SyncJobId, worker: str, now: datetime, until: datetime) -> SyncJob | None:
        job = self.rows.get(job_id)
        if job is None or job.status not in UNFINISHED or job.next_attempt_at is None or job.next_attempt_at > now:
            return None
        self.rows[job_id] = claimed = replace(
            job, status=SyncJobStatus.PROCESSING, claimed_by=worker, claimed_until=until,
            next_attempt_at=until, attempts=job.attempts + 1, updated_at=now,
        )
        return claimed

    async def save_claimed(self, job: SyncJob, worker: str, attempts: int) -> bool:
        current = self.rows.get(job.id)
        if current is None or (current.status, current.claimed_by, current.attempts) != (
            SyncJobStatus.PROCESSING, worker, attempts
        ):
            return False
        self.rows[job.id] = replace(job, payload=current.payload)
        return True


class MemoryUnitOfWork:
    """One "transaction": a copy of the tables is taken on entry and put back if the block raises.

    ``autocommit=True`` (asked for by a use case whose writes are one statement): no
    transaction, what is written stays even if the block raises.
    """

    def __init__(self, tables: Tables, *, autocommit: bool = False) -> None:
        self.tables = tables
        self.autocommit = autocommit

    async def __aenter__(self) -> Self:
        self._before = copy.deepcopy(self.tables) if not self.autocommit else self.tables
        self.items = MemoryItems(self.tables)
        self.agents = MemoryAgents(self.tables)
        self.orders = MemoryOrders(self.tables)
        self.sync_jobs = MemorySyncJobs(self.tables)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is not None and not self.autocommit:
            self.tables.__dict__.update(self._before.__dict__)


def unit_of_work(tables: Tables) -> UnitOfWorkFactory:
    # This unit of work carries only the repositories these three use cases touch (and of those,
    # only the methods they call). A complete adapter has every repository the ``UnitOfWork``
    # port lists; tests/contract states what each of them must do.
    return cast(UnitOfWorkFactory, functools.partial(MemoryUnitOfWork, tables))


# ---------------------------------------------------------------- the rest of the outside world


class ManualClock:
    """``Clock``: the time is whatever you set (``SystemClock`` is the real one)."""

    def __init__(self, now: datetime) -> None:
        self.time = now

    def now(self) -> datetime:
        return self.time


class DictResolver:
    """``MappingResolver``: the vendor's ERP codes -> RestoMarket codes, from a dict."""

    def __init__(self, codes: dict[CodeKey, str]) -> None:
        self.codes = codes

    async def resolve(self, vendor_id: VendorId, mapping_type: MappingType, erp_code: str) -> MappingResult | None:
        code = self.codes.get((mapping_type, erp_code))
        return MappingResult(code, None) if code else None

    async def resolve_many(self, vendor_id: VendorId, keys: Iterable[CodeKey]) -> dict[CodeKey, MappingResult | None]:
        return {key: await self.resolve(vendor_id, *key) for key in set(keys)}


@dataclass
class ListQueue:
    """``JobQueue``: the wake-ups, one per (job, due time); a real one wakes a worker."""

    wake_ups: set[tuple[SyncJobId, datetime]] = field(default_factory=set)

    async def wake_delivery(self, job_id: SyncJobId, due_at: datetime) -> bool:
        if (job_id, due_at) in self.wake_ups:
            return False
        self.wake_ups.add((job_id, due_at))
        return True


@dataclass
class Directory:
    """``AgentDirectory``: where each vendor's agent listens, and the credential our calls to it carry."""

    tables: Tables

    async def endpoint(self, vendor_id: VendorId) -> AgentEndpoint | None:
        agent = self.tables.agents.get(vendor_id)
        return agent.endpoint if agent else None


@dataclass
class PrintingAgentClient:
    """``AgentClient``: instead of an HTTP call, keep the order (or fail as a down agent does)."""

    down: bool = False
    received: list[dict[str, object]] = field(default_factory=list)

    async def create_order(
        self, agent: AgentEndpoint, *, job_id: SyncJobId, correlation_id: uuid.UUID, payload: dict[str, object]
    ) -> None:
        if self.down:
            raise AgentUnavailable("connection refused")
        self.received.append(payload)


class NoBreaker:
    """``CircuitBreaker`` that never opens (restosync's own keeps its state in Redis)."""

    async def call(self, key: BreakerKey, fn: Callable[[], Awaitable[T]]) -> T:
        return await fn()

    async def status(self) -> list[BreakerStatus]:
        return []

    async def reset(self, key: BreakerKey) -> BreakerStatus:
        return BreakerStatus(key, BreakerState.CLOSED, 0, 0, None, None)


# ---------------------------------------------------------------- using the core


@dataclass
class Results:
    first_push: IngestReport
    second_push: IngestReport
    deliveries: list[DeliveryOutcome]
    agent_received: list[dict[str, object]]


def item(sku: str, unit: str, price: str, at: datetime) -> Item:
    return Item(sku, f"Item {sku}", None, unit, "21", None, None, Decimal(price), None, True, at)


async def main() -> Results:
    start = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
    tables, clock, queue = Tables(), ManualClock(start), ListQueue()
    uow = unit_of_work(tables)
    resolver = DictResolver({(MappingType.UNIT, "KG"): "kilogram", (MappingType.VAT, "21"): "vat-21"})
    ingest_items = IngestItems(uow, resolver, clock)

    # 1. Ingest: one result per row, in input order (None: written; else the reason it was not).
    items = [item("FLOUR", "KG", "1.20", start), item("SALT", "KG", "0.80", start), item("EGGS", "DOZEN", "3", start)]
    first = await ingest_items(VENDOR, items)
    second = await ingest_items(VENDOR, items)  # the same rows again: nothing to write

    # 2. Orders go to the vendor's agent; here it registered earlier (restosync's RegisterAgent use case does that).
    tables.agents[VENDOR] = Agent(
        AgentId(uuid.uuid4()), VENDOR, "http://agent.bistro.example", "bcrypt-hash", "1.0",
        AgentStatus.ONLINE, start, start, start,
    )
    policy = RetryPolicy(max_attempts=3, delays=(60.0,))
    place_order = PlaceOrder(uow, queue, clock, policy)
    agent = PrintingAgentClient(down=True)
    deliver_order = DeliverOrder(
        uow, queue, clock, policy, Directory(tables), agent, NoBreaker(), "worker-1", MemorySyncJobs(tables)
    )

    placed = await place_order(
        NewOrder(VENDOR, "A-1", (NewOrderLine("FLOUR", Decimal("10"), Decimal("1.20")),))
    )
    assert placed.order.status is OrderStatus.PENDING
    outcomes = [await deliver_order(placed.sync_job_id)]  # the agent is down: a retry is scheduled
    agent.down = False
    clock.time += timedelta(seconds=60)  # the retry is due
    outcomes.append(await deliver_order(placed.sync_job_id))
    return Results(first, second, outcomes, agent.received)


if __name__ == "__main__":
    results = asyncio.run(main())
    print("first push:", [r.value if r else "written" for r in results.first_push.reasons])
    print("second push:", [r.value if r else "written" for r in results.second_push.reasons])
    print("deliveries:", [o.value for o in results.deliveries])
    print("the agent received:", results.agent_received)
