"""The shared async steps: reading while hashing, and the read never outliving its request."""

from __future__ import annotations

import asyncio

from restosync_core.policies.ingest import IngestPlan
from restosync_core.use_cases.ingest_pipeline import OVERLAP_MIN_ROWS, read_while_hashing
from tests.unit.ingest.helpers import at, run

N = OVERLAP_MIN_ROWS * 4


def _plan(hashed: list[int]) -> IngestPlan[str, int]:
    def hash_of(i: int) -> str:
        hashed.append(i)
        return f"h{i}"

    return IngestPlan([f"k{i:05d}" for i in range(N)], [at(0)] * N, hash_of, lambda i, h: i)


def test_rows_are_hashed_while_the_read_is_in_flight_and_its_answer_is_returned() -> None:
    hashed: list[int] = []
    plan = _plan(hashed)

    async def slow_read() -> dict[str, str]:
        for _ in range(3):  # the database takes a few turns of the event loop to answer
            await asyncio.sleep(0)
        return {"k00000": "stored"}

    assert run(read_while_hashing(plan, slow_read())) == {"k00000": "stored"}
    assert 0 < len(hashed) < N  # some rows hashed meanwhile, the rest left for later
    assert hashed == sorted(hashed)  # in key order: the first chunk is ready first


def test_a_cancelled_request_cancels_its_read_before_giving_back_the_connection() -> None:
    read_state: list[str] = []

    async def endless_read() -> dict[str, str]:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            read_state.append("cancelled")
            raise
        return {}

    async def scenario() -> None:
        request = asyncio.ensure_future(read_while_hashing(_plan([]), endless_read()))
        for _ in range(5):
            await asyncio.sleep(0)
        request.cancel()
        await asyncio.wait([request])
        assert request.cancelled()
        assert read_state == ["cancelled"]  # already, not when the event loop shuts down

    run(scenario())


def test_a_small_push_simply_awaits_its_read() -> None:
    hashed: list[int] = []
    plan = IngestPlan(["a", "b"], [at(0)] * 2, lambda i: hashed.append(i) or "h", lambda i, h: i)

    async def read() -> dict[str, str]:
        return {}

    assert run(read_while_hashing(plan, read())) == {}
    assert hashed == []  # hashed later, with its single chunk
