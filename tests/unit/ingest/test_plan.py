"""The pure planning step: one decision per row, duplicates, staleness, writes in key order and in chunks."""

from __future__ import annotations

from datetime import datetime

from hypothesis import given
from hypothesis import strategies as st

from restosync_core.model.ingest import RowReason, StoredVersion
from restosync_core.policies.ingest import IngestPlan, compare_with_stored
from tests.unit.ingest.helpers import at

KEYS = ["a", "b", "c", "d", "e"]
stored_maps = st.dictionaries(
    st.sampled_from(KEYS), st.builds(StoredVersion, st.sampled_from(["h1", "h2"]), st.integers(0, 4).map(at))
)


def _plan(keys: list[str], hashes: list[str], times: list[datetime], stored: dict[str, StoredVersion],
          failing: frozenset[int] = frozenset()) -> IngestPlan[str, str]:
    def prepare(i: int, content_hash: str) -> str | RowReason:
        assert content_hash == hashes[i]
        return RowReason.UNMAPPED_UNIT if i in failing else f"write-{i}"

    return IngestPlan(keys, times, hashes.__getitem__, prepare)


@given(st.lists(st.sampled_from(KEYS), max_size=30), st.data(), stored_maps, st.integers(1, 4))
def test_every_row_gets_one_decision_and_the_writes_come_in_key_order_in_full_chunks(
    keys: list[str], data: st.DataObject, stored: dict[str, StoredVersion], size: int
) -> None:
    n = len(keys)
    hashes = data.draw(st.lists(st.sampled_from(["h1", "h2"]), min_size=n, max_size=n))
    times = data.draw(st.lists(st.integers(0, 4).map(at), min_size=n, max_size=n))
    failing = data.draw(st.frozensets(st.integers(0, max(n - 1, 0))))
    plan = _plan(keys, hashes, times, stored, failing)

    chunks = list(plan.chunks(size, stored))

    assert all(len(chunk) == size for chunk in chunks[:-1]) and all(1 <= len(c) <= size for c in chunks)
    assert [w for chunk in chunks for w in chunk] == [f"write-{i}" for i in plan.write_indices]
    assert len(plan.reasons) == n
    assert sorted(plan.write_indices) == [i for i, r in enumerate(plan.reasons) if r is None]
    written_keys = [keys[i] for i in plan.write_indices]
    assert written_keys == sorted(written_keys)  # key order: the order rows are locked in
    assert len(set(written_keys)) == len(written_keys)  # never the same key twice in one request
    assert plan.candidates() >= len(plan.write_indices)
    for key in set(keys):
        positions = [i for i, k in enumerate(keys) if k == key]
        assert all(plan.reasons[i] is RowReason.DUPLICATE_IN_REQUEST for i in positions[:-1])
        assert plan.reasons[positions[-1]] is not RowReason.DUPLICATE_IN_REQUEST
    for i, reason in enumerate(plan.reasons):
        if reason in (RowReason.UNCHANGED, RowReason.STALE):
            assert reason is compare_with_stored(hashes[i], times[i], stored.get(keys[i]))


def test_the_last_of_repeated_keys_wins() -> None:
    plan = _plan(["a", "b", "a"], ["h1", "h2", "h3"], [at(0)] * 3, {})
    assert plan.distinct_keys() == ["a", "b"]
    assert list(plan.chunks(10, {})) == [["write-2", "write-1"]]
    assert plan.reasons == [RowReason.DUPLICATE_IN_REQUEST, None, None]


def test_compare_says_unchanged_for_the_same_hash_even_when_older() -> None:
    assert compare_with_stored("h", at(0), StoredVersion("h", at(5))) is RowReason.UNCHANGED


def test_compare_says_stale_for_different_content_older_than_stored() -> None:
    assert compare_with_stored("new", at(0), StoredVersion("old", at(5))) is RowReason.STALE


def test_compare_writes_newer_or_equally_timed_different_content_and_unknown_rows() -> None:
    assert compare_with_stored("new", at(5), StoredVersion("old", at(5))) is None
    assert compare_with_stored("new", at(6), StoredVersion("old", at(5))) is None
    assert compare_with_stored("new", at(0), None) is None


def test_resolution_is_only_asked_for_rows_that_would_be_written() -> None:
    asked: list[int] = []

    def prepare(i: int, content_hash: str) -> str:
        asked.append(i)
        return "w"

    stored = {"same": StoredVersion("h", at(0)), "newer": StoredVersion("x", at(9))}
    plan = IngestPlan(["same", "newer", "dup", "dup", "fresh"], [at(1)] * 5, lambda i: "h", prepare)
    list(plan.chunks(10, stored))
    assert sorted(asked) == [3, 4]


def test_rows_are_hashed_lazily_one_chunk_at_a_time() -> None:
    hashed: list[int] = []

    def hash_of(i: int) -> str:
        hashed.append(i)
        return f"h{i}"

    plan = IngestPlan(["c", "a", "b", "d"], [at(0)] * 4, hash_of, lambda i, h: i)
    chunks = plan.chunks(2, {})
    assert next(chunks) == [1, 2] and sorted(hashed) == [1, 2]  # a, b: the database can write them now
    assert next(chunks) == [0, 3] and sorted(hashed) == [0, 1, 2, 3]


def test_hashing_ahead_goes_in_key_order_can_stop_anywhere_and_never_hashes_a_row_twice() -> None:
    hashed: list[int] = []

    def hash_of(i: int) -> str:
        hashed.append(i)
        return f"h{i}"

    plan = IngestPlan(["c", "a", "b", "d", "a"], [at(0)] * 5, hash_of, lambda i, h: (i, h))
    ahead = plan.hash_ahead(2)
    assert next(ahead) == 2 and hashed == [4, 2]  # a (its last occurrence), b
    chunks = list(plan.chunks(10, {}))
    assert sorted(hashed) == [0, 2, 3, 4]  # each row that counts, once
    assert chunks == [[(4, "h4"), (2, "h2"), (0, "h0"), (3, "h3")]]


def test_rows_refused_by_the_database_are_settled_against_what_is_stored_now() -> None:
    plan = _plan(["a", "b", "c"], ["h1", "h2", "h3"], [at(1)] * 3, {})
    list(plan.chunks(10, {}))
    assert plan.to_recheck({"b"}) == ["a", "c"]
    reasons = plan.settle({"b"}, {"a": StoredVersion("h1", at(0)), "c": StoredVersion("other", at(3))})
    assert reasons == [RowReason.UNCHANGED, None, RowReason.STALE]

