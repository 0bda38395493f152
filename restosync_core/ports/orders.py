"""Ports for order delivery: orders, sync jobs and dead letters (one transaction each)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from restosync_core.model.delivery import DeadLetterBacklog, SyncJobFilter
from restosync_core.model.ids import DeadLetterId, OrderId, SyncJobId, VendorId
from restosync_core.model.orders import DeadLetter, Order, OrderStatus, SyncJob
from restosync_core.model.pagination import Page, PageRequest


class OrderRepository(Protocol):
    async def add(self, order: Order) -> None:
        """Insert the order and its lines; ``Conflict`` when the vendor already has that order number."""
        ...

    async def get(self, order_id: OrderId) -> Order | None: ...

    async def set_status(
        self, order_id: OrderId, status: OrderStatus, now: datetime, *, erp_reference: str | None = None
    ) -> None:
        """Change the status (and, when given, the ERP reference) of an order."""
        ...


class SyncJobRepository(Protocol):
    async def add(self, job: SyncJob) -> None: ...

    async def get(self, job_id: SyncJobId, *, for_update: bool = False) -> SyncJob | None:
        """The job; with ``for_update`` its row stays locked until the transaction ends."""
        ...

    async def save(self, job: SyncJob) -> None:
        """Write every mutable field of ``job`` (read it ``for_update`` first)."""
        ...

    async def save_claimed(self, job: SyncJob, worker: str, attempts: int) -> bool:
        """Write a delivery's outcome: every mutable field of ``job`` but its payload (a delivery
        never changes what is delivered), only if the job is still ``processing`` under
        ``worker``'s claim number ``attempts``; False (nothing written) when a callback or another
        worker got there first."""
        ...

    async def claim(self, job_id: SyncJobId, worker: str, now: datetime, until: datetime) -> SyncJob | None:
        """Atomically take a due job for ``worker`` (status processing, attempts + 1, claim until
        ``until``); None when it is not due, finished, or claimed by a live worker."""
        ...

    async def due(self, before: datetime, limit: int) -> list[tuple[SyncJobId, datetime]]:
        """(id, next_attempt_at) of unfinished jobs due before ``before``, soonest first."""
        ...

    async def list(self, filter_: SyncJobFilter, page: PageRequest) -> Page[SyncJob]:
        """Newest first."""
        ...

    async def id_for_order(self, order_id: OrderId) -> SyncJobId | None:
        """The id of the job that delivers the order (its first, should there ever be more)."""
        ...

    async def overdue_unfinished(self, before: datetime, now: datetime, limit: int) -> Sequence[SyncJob]:
        """At most ``limit`` unfinished jobs placed (or last retried from a dead letter) before ``before``,
        oldest first, locked until the transaction ends; rows locked elsewhere, and ``processing``
        jobs whose claim is still live at ``now``, are left out."""
        ...


class SyncJobClaims(Protocol):
    """The two writes a worker makes around an agent call, each one atomic statement on its own
    (no transaction to open and commit): taking the job, and recording an outcome that needs
    nothing else written with it. Same rules as ``SyncJobRepository.claim``/``save_claimed``."""

    async def claim(self, job_id: SyncJobId, worker: str, now: datetime, until: datetime) -> SyncJob | None: ...

    async def save_claimed(self, job: SyncJob, worker: str, attempts: int) -> bool: ...


class DeadLetterRepository(Protocol):
    async def add(self, job: SyncJob, now: datetime) -> DeadLetter:
        """Record ``job`` as dead; refresh the job's unresolved letter when it already has one."""
        ...

    async def get(self, letter_id: DeadLetterId, *, for_update: bool = False) -> DeadLetter | None: ...

    async def for_job(self, job_id: SyncJobId) -> list[DeadLetter]: ...

    async def list_unresolved(self, page: PageRequest, vendor_id: VendorId | None = None) -> Page[DeadLetter]:
        """Oldest first."""
        ...

    async def save(self, letter: DeadLetter) -> None:
        """Write ``resolved``, ``resolved_at``, ``retry_count``, the last retry time and ``sync_job_id``
        (a retry that rebuilt the job links the letter to it again)."""
        ...

    async def unresolved_by_vendor(self) -> list[DeadLetterBacklog]:
        """Per vendor with unresolved letters: how many, and the oldest one's ``created_at``; by vendor."""
        ...

    async def resolve_for_job(self, job_id: SyncJobId, now: datetime) -> int:
        """Resolve the job's unresolved letters (the ERP confirmed the order after all)."""
        ...
