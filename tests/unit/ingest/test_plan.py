"""The pure planning step: one decision per row, duplicates, staleness, and writes in key order."""

from __future__ import annotations

from datetime import datetime

from hypothesis import given
from hypothesis import strategies as st

from restosync_core.model.ingest import RowReason, StoredVersion
from restosync_core.policies.ingest import compare_with_stored, plan_ingest
from tests.unit.ingest.helpers import at

keys_lists = st.lists(st.sampled_from(["a", "b", "c", "d", "e"]), max_size=30)
stored_maps = st.dictionaries(
    st.sampled_from(["a", "b", "c", "d", "e"]),
    st.builds(StoredVersion, st.sampled_from(["h1", "h2"]), st.integers(0, 4).map(at)),
)


def _plan(keys: list[str], hashes: list[str], times: list[datetime], stored: dict[str, StoredVersion],
          failing: frozenset[int] = frozenset()):  # type: ignore[no-untyped-def]
    def prepare(i: int) -> str | RowReason:
        return RowReason.UNMAPPED_UNIT if i in failing else f"write-{i}"

    return plan_ingest(keys, hashes, times, stored, prepare)


@given(keys_lists, st.data(), stored_maps)
def test_every_row_gets_exactly_one_decision_and_the_writes_are_the_undecided_rows(keys, data, stored) -> None:  # type: ignore[no-untyped-def]
    n = len(keys)
    hashes = data.draw(st.lists(st.sampled_from(["h1", "h2"]), min_size=n, max_size=n))
    times = data.draw(st.lists(st.integers(0, 4).map(at), min_size=n, max_size=n))
    failing = data.draw(st.frozensets(st.integers(0, max(n - 1, 0))))
    plan = _plan(keys, hashes, times, stored, failing)

    assert len(plan.reasons) == n
    assert sorted(plan.write_indices) == [i for i, r in enumerate(plan.reasons) if r is None]
    assert plan.writes == [f"write-{i}" for i in plan.write_indices]
    written_keys = [keys[i] for i in plan.write_indices]
    assert written_keys == sorted(written_keys)  # key order: the order rows are locked in
    assert len(set(written_keys)) == len(written_keys)  # never the same key twice in one statement
    for key in set(keys):
        last = max(i for i, k in enumerate(keys) if k == key)
        for i, k in enumerate(keys):
            if k == key and i != last:
                assert plan.reasons[i] is RowReason.DUPLICATE_IN_REQUEST
        assert plan.reasons[last] is not RowReason.DUPLICATE_IN_REQUEST


def test_the_last_of_repeated_keys_wins() -> None:
    plan = _plan(["a", "b", "a"], ["h1", "h2", "h3"], [at(0)] * 3, {})
    assert plan.reasons == [RowReason.DUPLICATE_IN_REQUEST, None, None]
    assert plan.write_indices == [2, 1]


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

    def prepare(i: int) -> str:
        asked.append(i)
        return "w"

    stored = {"same": StoredVersion("h", at(0)), "newer": StoredVersion("x", at(9))}
    plan_ingest(["same", "newer", "dup", "dup", "fresh"], ["h", "h", "h", "h", "h"], [at(1)] * 5, stored, prepare)
    assert sorted(asked) == [3, 4]
