"""Contract of the AuditLog: entries are appended as given, one by one or many at once, inside the transaction."""

from __future__ import annotations

from datetime import timedelta

import pytest

from restosync_core.model.audit import NO_REQUEST, AuditEntry, RequestContext
from tests.contract.conftest import T0, Store

pytestmark = pytest.mark.anyio


def entry(n: int, context: RequestContext = NO_REQUEST) -> AuditEntry:
    return AuditEntry(
        f"agent.action{n}", "agent", f"vendor-{n}", context, T0 + timedelta(seconds=n), {"n": n, "why": "test"}
    )


async def test_recorded_entries_are_stored_in_order_as_given(store: Store) -> None:
    first = entry(1, RequestContext("req-1", "10.0.0.1"))
    async with store.uow() as uow:
        await uow.audit_log.record(first)
        await uow.audit_log.record_many([entry(2), entry(3)])

    assert await store.audit_entries() == [first, entry(2), entry(3)]


async def test_recording_no_entries_writes_nothing(store: Store) -> None:
    async with store.uow() as uow:
        await uow.audit_log.record_many([])

    assert await store.audit_entries() == []


async def test_entries_of_a_block_that_raised_are_not_kept(store: Store) -> None:
    with pytest.raises(RuntimeError):
        async with store.uow() as uow:
            await uow.audit_log.record(entry(1))
            raise RuntimeError("the use case failed")

    assert await store.audit_entries() == []
