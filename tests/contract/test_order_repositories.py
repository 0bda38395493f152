"""Contract of the order-delivery repositories: orders, sync jobs (and their claims), dead letters."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from restosync_core.errors import Conflict
from restosync_core.model.delivery import SyncJobFilter
from restosync_core.model.ids import DeadLetterId, OrderId, SyncJobId, VendorId
from restosync_core.model.orders import Order, OrderLine, OrderStatus, SyncJob, SyncJobStatus
from restosync_core.model.pagination import PageRequest
from tests.contract.conftest import T0, Store

pytestmark = pytest.mark.anyio

V1, V2 = VendorId("vendor-1"), VendorId("vendor-2")
LINES = (OrderLine("SKU-1", Decimal("2.0000"), Decimal("18.5000")), OrderLine("SKU-2", Decimal("1.5000"), Decimal("3")))


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def an_order(vendor: VendorId = V1, number: str = "A-1") -> Order:
    return Order(OrderId(uuid.uuid4()), vendor, number, OrderStatus.PENDING, LINES, None, T0, T0)


def a_job(
    order: Order, *, created_s: float = 0, due_s: float | None = 0, status: SyncJobStatus = SyncJobStatus.PENDING
) -> SyncJob:
    return SyncJob(
        id=SyncJobId(uuid.uuid4()), order_id=order.id, vendor_id=order.vendor_id, job_type="create_order",
        status=status, payload={"orderNumber": order.order_number, "lines": [1, 2]}, attempts=0, max_attempts=5,
        next_attempt_at=None if due_s is None else at(due_s), claimed_until=None, correlation_id=uuid.uuid4(),
        erp_reference=None, last_error=None, created_at=at(created_s), updated_at=at(created_s),
    )


async def placed(store: Store, *jobs_of: tuple[Order, list[SyncJob]]) -> None:
    async with store.uow() as uow:
        for order, jobs in jobs_of:
            await uow.orders.add(order)
            for job in jobs:
                await uow.sync_jobs.add(job)


# ---------------------------------------------------------------- orders

async def test_an_order_is_read_back_with_its_lines_in_order(store: Store) -> None:
    order = an_order()
    await placed(store, (order, []))

    async with store.uow() as uow:
        assert await uow.orders.get(order.id) == order
        assert await uow.orders.get(OrderId(uuid.uuid4())) is None


async def test_the_same_order_number_twice_for_a_vendor_is_a_conflict_and_the_transaction_survives(
    store: Store,
) -> None:
    first = an_order()
    await placed(store, (first, []))

    async with store.uow() as uow:
        with pytest.raises(Conflict):
            await uow.orders.add(an_order(V1, "A-1"))
        other_vendor = an_order(V2, "A-1")
        await uow.orders.add(other_vendor)  # the same transaction goes on
    async with store.uow() as uow:
        assert await uow.orders.get(other_vendor.id) == other_vendor


async def test_a_status_change_keeps_the_erp_reference_unless_one_is_given(store: Store) -> None:
    order = an_order()
    await placed(store, (order, []))

    async with store.uow() as uow:
        await uow.orders.set_status(order.id, OrderStatus.SYNCED, at(5), erp_reference="ERP-1")
        await uow.orders.set_status(order.id, OrderStatus.FAILED, at(6))
        stored = await uow.orders.get(order.id)

    assert stored is not None
    assert (stored.status, stored.erp_reference, stored.updated_at) == (OrderStatus.FAILED, "ERP-1", at(6))


# ---------------------------------------------------------------- sync jobs

async def test_a_job_is_read_back_saved_and_found_by_its_order(store: Store) -> None:
    order = an_order()
    job = a_job(order)
    await placed(store, (order, [job]))

    sent = replace(job, status=SyncJobStatus.SENT, attempts=1, erp_reference="ERP-1", last_error="x",
                   sent_at=at(3), next_attempt_at=at(60), updated_at=at(3))
    async with store.uow() as uow:
        assert await uow.sync_jobs.get(job.id) == job
        assert await uow.sync_jobs.get(job.id, for_update=True) == job
        await uow.sync_jobs.save(sent)
        assert await uow.sync_jobs.id_for_order(order.id) == job.id
        assert await uow.sync_jobs.id_for_order(OrderId(uuid.uuid4())) is None
        assert await uow.sync_jobs.get(SyncJobId(uuid.uuid4())) is None
    async with store.uow() as uow:
        assert await uow.sync_jobs.get(job.id) == sent


async def test_a_due_unfinished_job_is_claimed_once(store: Store) -> None:
    order = an_order()
    job = a_job(order, due_s=10)
    await placed(store, (order, [job]))

    async with store.uow() as uow:
        early = await uow.sync_jobs.claim(job.id, "w1", at(9), at(40))
        claimed = await uow.sync_jobs.claim(job.id, "w1", at(10), at(40))
        again = await uow.sync_jobs.claim(job.id, "w2", at(11), at(41))

    assert early is None and again is None
    assert claimed == replace(job, status=SyncJobStatus.PROCESSING, claimed_by="w1", claimed_until=at(40),
                              next_attempt_at=at(40), attempts=1, updated_at=at(10))


async def test_an_expired_claim_can_be_taken_over_and_a_finished_job_never_is(store: Store) -> None:
    order = an_order()
    job = a_job(order)
    done = a_job(order, status=SyncJobStatus.COMPLETED)
    await placed(store, (order, [job, done]))

    async with store.uow() as uow:
        await uow.sync_jobs.claim(job.id, "w1", at(0), at(30))
        taken_over = await uow.sync_jobs.claim(job.id, "w2", at(30), at(60))
        assert await uow.sync_jobs.claim(done.id, "w1", at(100), at(130)) is None
        assert await uow.sync_jobs.claim(SyncJobId(uuid.uuid4()), "w1", at(100), at(130)) is None

    assert taken_over is not None and (taken_over.claimed_by, taken_over.attempts) == ("w2", 2)


async def test_an_outcome_is_saved_only_under_the_live_claim_and_never_changes_the_payload(store: Store) -> None:
    order = an_order()
    job = a_job(order)
    await placed(store, (order, [job]))
    async with store.uow() as uow:
        claimed = await uow.sync_jobs.claim(job.id, "w1", at(0), at(30))
    assert claimed is not None

    outcome = replace(claimed, status=SyncJobStatus.SENT, payload={"changed": True}, sent_at=at(1), updated_at=at(1))
    async with store.uow() as uow:
        assert await uow.sync_jobs.save_claimed(outcome, "w2", 1) is False
        assert await uow.sync_jobs.save_claimed(outcome, "w1", 2) is False
        assert await uow.sync_jobs.save_claimed(outcome, "w1", 1) is True
        assert await uow.sync_jobs.save_claimed(outcome, "w1", 1) is False  # no longer processing
        stored = await uow.sync_jobs.get(job.id)

    assert stored == replace(outcome, payload=job.payload)


async def test_the_claim_writes_outside_a_unit_of_work_follow_the_same_rules(store: Store) -> None:
    order = an_order()
    job = a_job(order, due_s=10)
    await placed(store, (order, [job]))

    assert await store.claims.claim(job.id, "w1", at(9), at(40)) is None
    claimed = await store.claims.claim(job.id, "w1", at(10), at(40))
    assert claimed is not None and claimed.claimed_by == "w1"
    assert await store.claims.claim(job.id, "w2", at(11), at(41)) is None
    outcome = replace(claimed, status=SyncJobStatus.COMPLETED, completed_at=at(12), payload={}, updated_at=at(12))
    assert await store.claims.save_claimed(outcome, "w2", 1) is False
    assert await store.claims.save_claimed(outcome, "w1", 1) is True
    async with store.uow() as uow:
        assert await uow.sync_jobs.get(job.id) == replace(outcome, payload=job.payload)


async def test_due_answers_unfinished_jobs_due_before_a_time_soonest_first(store: Store) -> None:
    order = an_order()
    later, sooner, not_yet, done, never = (
        a_job(order, due_s=20), a_job(order, due_s=10), a_job(order, due_s=100),
        a_job(order, due_s=5, status=SyncJobStatus.FAILED), a_job(order, due_s=None),
    )
    await placed(store, (order, [later, sooner, not_yet, done, never]))

    async with store.uow() as uow:
        assert await uow.sync_jobs.due(at(50), 10) == [(sooner.id, at(10)), (later.id, at(20))]
        assert await uow.sync_jobs.due(at(50), 1) == [(sooner.id, at(10))]


async def test_list_filters_by_vendor_and_status_newest_first_with_the_total(store: Store) -> None:
    o1, o2 = an_order(V1), an_order(V2)
    old, new = a_job(o1, created_s=1), a_job(o1, created_s=2)
    failed = a_job(o1, created_s=3, status=SyncJobStatus.FAILED)
    other = a_job(o2, created_s=4)
    await placed(store, (o1, [old, new, failed]), (o2, [other]))

    async with store.uow() as uow:
        mine = await uow.sync_jobs.list(SyncJobFilter(vendor_id=V1), PageRequest(page=1, limit=2))
        mine_2 = await uow.sync_jobs.list(SyncJobFilter(vendor_id=V1), PageRequest(page=2, limit=2))
        pending = await uow.sync_jobs.list(SyncJobFilter(status=SyncJobStatus.PENDING), PageRequest())
        nothing = await uow.sync_jobs.list(SyncJobFilter(vendor_id=VendorId("nobody")), PageRequest(page=3))

    assert [j.id for j in mine.items] == [failed.id, new.id]
    assert [j.id for j in mine_2.items] == [old.id]
    assert (mine.total, mine_2.total) == (3, 3)
    assert [j.id for j in pending.items] == [other.id, new.id, old.id]
    assert (nothing.items, nothing.total, nothing.page) == ([], 0, 3)


async def test_the_job_of_an_order_is_its_first(store: Store) -> None:
    order = an_order()
    first, second = a_job(order, created_s=1), a_job(order, created_s=2)
    await placed(store, (order, [second, first]))

    async with store.uow() as uow:
        assert await uow.sync_jobs.id_for_order(order.id) == first.id


# ---------------------------------------------------------------- dead letters

async def test_a_dead_job_gets_one_unresolved_letter_refreshed_on_each_death(store: Store) -> None:
    order = an_order()
    job = replace(a_job(order, status=SyncJobStatus.FAILED), attempts=5, last_error="503")
    await placed(store, (order, [job]))

    async with store.uow() as uow:
        letter = await uow.dead_letters.add(job, at(10))
        again = await uow.dead_letters.add(replace(job, attempts=6, last_error="timeout"), at(20))
        letters = await uow.dead_letters.for_job(job.id)

    assert (letter.sync_job_id, letter.vendor_id, letter.job_type) == (job.id, V1, "create_order")
    assert (letter.payload, letter.last_error, letter.attempts) == (job.payload, "503", 5)
    assert (letter.resolved, letter.created_at, letter.retry_count) == (False, at(10), 0)
    assert again == replace(letter, attempts=6, last_error="timeout")
    assert letters == [again]
    async with store.uow() as uow:
        assert await uow.dead_letters.get(letter.id) == again
        assert await uow.dead_letters.get(letter.id, for_update=True) == again
        assert await uow.dead_letters.get(DeadLetterId(uuid.uuid4())) is None


async def test_a_resolved_letter_is_kept_and_a_new_death_writes_a_new_one(store: Store) -> None:
    order = an_order()
    job = replace(a_job(order, status=SyncJobStatus.FAILED), last_error="503")
    await placed(store, (order, [job]))

    async with store.uow() as uow:
        first = await uow.dead_letters.add(job, at(10))
        resolved = replace(first, resolved=True, resolved_at=at(11), retry_count=1, last_retried_at=at(11))
        await uow.dead_letters.save(resolved)
        second = await uow.dead_letters.add(job, at(20))
        letters = await uow.dead_letters.for_job(job.id)

    assert second.id != first.id
    assert letters == [resolved, second]


async def test_unresolved_letters_are_listed_oldest_first_by_vendor(store: Store) -> None:
    o1, o2 = an_order(V1), an_order(V2)
    j1, j2, j3 = a_job(o1), a_job(o1), a_job(o2)
    await placed(store, (o1, [j1, j2]), (o2, [j3]))
    async with store.uow() as uow:
        newer = await uow.dead_letters.add(j1, at(30))
        older = await uow.dead_letters.add(j2, at(10))
        other = await uow.dead_letters.add(j3, at(20))

    async with store.uow() as uow:
        everyone = await uow.dead_letters.list_unresolved(PageRequest())
        mine = await uow.dead_letters.list_unresolved(PageRequest(page=2, limit=1), V1)
        nothing = await uow.dead_letters.list_unresolved(PageRequest(), VendorId("nobody"))

    assert [d.id for d in everyone.items] == [older.id, other.id, newer.id]
    assert everyone.total == 3
    assert ([d.id for d in mine.items], mine.total) == ([newer.id], 2)
    assert (nothing.items, nothing.total) == ([], 0)


async def test_resolving_a_jobs_letters_counts_those_it_resolved(store: Store) -> None:
    order = an_order()
    job = a_job(order)
    await placed(store, (order, [job]))
    async with store.uow() as uow:
        letter = await uow.dead_letters.add(job, at(10))

    async with store.uow() as uow:
        assert await uow.dead_letters.resolve_for_job(job.id, at(20)) == 1
        assert await uow.dead_letters.resolve_for_job(job.id, at(30)) == 0
        unresolved = await uow.dead_letters.list_unresolved(PageRequest())
        assert (unresolved.items, unresolved.total) == ([], 0)
        assert await uow.dead_letters.get(letter.id) == replace(letter, resolved=True, resolved_at=at(20))


# ---------------------------------------------------------------- ties

async def test_rows_created_at_the_same_moment_are_listed_by_id(store: Store) -> None:
    order = an_order()
    jobs = [a_job(order, created_s=7) for _ in range(4)]
    await placed(store, (order, jobs))
    async with store.uow() as uow:
        letters = [await uow.dead_letters.add(job, at(9)) for job in jobs]

    async with store.uow() as uow:
        listed = await uow.sync_jobs.list(SyncJobFilter(), PageRequest())
        unresolved = await uow.dead_letters.list_unresolved(PageRequest())
        first = await uow.sync_jobs.id_for_order(order.id)

    assert [j.id for j in listed.items] == sorted(j.id for j in jobs)
    assert [d.id for d in unresolved.items] == sorted(d.id for d in letters)
    assert first == min(j.id for j in jobs)


# ---------------------------------------------------------------- what a save writes

async def test_saving_a_job_writes_its_mutable_fields_only(store: Store) -> None:
    order = an_order()
    job = a_job(order)
    await placed(store, (order, [job]))
    changed = replace(
        job, status=SyncJobStatus.FAILED, attempts=3, last_error="boom", completed_at=at(5), updated_at=at(5),
        payload={"rewritten": True}, max_attempts=99, job_type="other", correlation_id=uuid.uuid4(),
        created_at=at(100),
    )

    async with store.uow() as uow:
        await uow.sync_jobs.save(changed)
        stored = await uow.sync_jobs.get(job.id)

    assert stored == replace(
        job, status=SyncJobStatus.FAILED, attempts=3, last_error="boom", completed_at=at(5), updated_at=at(5)
    )


async def test_saving_a_letter_writes_its_resolution_and_retries_only(store: Store) -> None:
    order = an_order()
    job = replace(a_job(order), last_error="503")
    await placed(store, (order, [job]))
    async with store.uow() as uow:
        letter = await uow.dead_letters.add(job, at(10))

    changed = replace(
        letter, resolved=True, resolved_at=at(11), retry_count=2, last_retried_at=at(11),
        payload={"rewritten": True}, last_error="other", attempts=42,
    )
    async with store.uow() as uow:
        await uow.dead_letters.save(changed)
        stored = await uow.dead_letters.get(letter.id)

    assert stored == replace(letter, resolved=True, resolved_at=at(11), retry_count=2, last_retried_at=at(11))


async def test_line_decimals_come_back_with_the_columns_four_places(store: Store) -> None:
    lines = (OrderLine("SKU-1", Decimal("2"), Decimal("18.5")), OrderLine("SKU-2", Decimal("1.25"), Decimal("0")))
    order = replace(an_order(), lines=lines)
    await placed(store, (order, []))

    async with store.uow() as uow:
        stored = await uow.orders.get(order.id)

    assert stored is not None
    assert [(str(ln.quantity), str(ln.unit_price)) for ln in stored.lines] == [
        ("2.0000", "18.5000"), ("1.2500", "0.0000")
    ]
