"""The bounded LRU + TTL cache, on its own (time is passed in, so tests drive it)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from restosync_core.policies.ttl_lru_cache import TtlLruCache


def cache(max_entries: int = 3, ttl: float = 10.0) -> TtlLruCache[str, str | None]:
    return TtlLruCache(max_entries=max_entries, ttl_seconds=ttl)


def test_a_stored_value_is_returned_under_the_same_tag_until_its_ttl_ends() -> None:
    c = cache(ttl=10)
    c.put("k", "v", now=100.0, tag="g1")
    hit = c.get("k", now=109.999, tag="g1")
    assert hit is not None and hit.value == "v"
    assert c.get("k", now=110.0, tag="g1") is None
    assert "k" not in c  # an expired entry is dropped, not kept around


def test_a_cached_none_is_a_hit_distinct_from_a_miss() -> None:
    c = cache()
    c.put("unmapped", None, now=0, tag=None)
    hit = c.get("unmapped", now=1, tag=None)
    assert hit is not None and hit.value is None
    assert c.get("never-stored", now=1, tag=None) is None


def test_an_entry_under_another_tag_is_a_miss_and_is_dropped() -> None:
    c = cache()
    c.put("k", "v", now=0, tag="g1")
    assert c.get("k", now=1, tag="g2") is None
    assert "k" not in c


def test_the_least_recently_used_entry_is_evicted_at_the_bound() -> None:
    c = cache(max_entries=3)
    for key in ("a", "b", "c"):
        c.put(key, key, now=0, tag=0)
    assert c.get("a", now=1, tag=0) is not None  # a is now the most recent; b the least
    c.put("d", "d", now=2, tag=0)
    assert len(c) == 3
    assert "b" not in c
    assert all(c.get(k, now=3, tag=0) is not None for k in ("a", "c", "d"))


def test_storing_again_refreshes_value_expiry_and_recency() -> None:
    c = cache(max_entries=2, ttl=10)
    c.put("a", "old", now=0, tag=0)
    c.put("b", "b", now=0, tag=0)
    c.put("a", "new", now=5, tag=0)
    c.put("c", "c", now=6, tag=0)  # evicts b, the least recent
    hit = c.get("a", now=14, tag=0)
    assert hit is not None and hit.value == "new"
    assert "b" not in c


def test_a_cache_refuses_a_bound_or_ttl_that_makes_no_sense() -> None:
    with pytest.raises(ValueError, match="max_entries"):
        TtlLruCache(max_entries=0, ttl_seconds=1)
    with pytest.raises(ValueError, match="ttl_seconds"):
        TtlLruCache(max_entries=1, ttl_seconds=0)


@given(st.lists(st.tuples(st.sampled_from("abcdefg"), st.booleans()), max_size=60))
def test_the_cache_never_holds_more_than_its_bound_and_keeps_the_most_recent(ops: list[tuple[str, bool]]) -> None:
    c = cache(max_entries=3, ttl=1000)
    recency: list[str] = []  # a model: most recent last
    for now, (key, is_put) in enumerate(ops):
        if is_put:
            c.put(key, key, now=now, tag=0)
            recency = [k for k in recency if k != key] + [key]
        else:
            hit = c.get(key, now=now, tag=0)
            assert (hit is not None) == (key in recency[-3:])
            if hit is not None:
                recency = [k for k in recency if k != key] + [key]
        recency = recency[-3:]
        assert len(c) <= 3
        assert sorted(k for k in "abcdefg" if k in c) == sorted(recency)
