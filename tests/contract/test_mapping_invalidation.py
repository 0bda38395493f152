"""Contract of MappingInvalidation: one generation per vendor, shared by every process, never reused."""

from __future__ import annotations

import pytest

from restosync_core.model.ids import VendorId
from tests.contract.conftest import Shared

pytestmark = pytest.mark.anyio

V1, V2, V3 = VendorId("vendor-1"), VendorId("vendor-2"), VendorId("vendor-3")


async def test_a_vendors_generation_is_the_same_for_every_process_until_it_changes(shared: Shared) -> None:
    first = await shared.invalidation.generation_of(V1)

    assert await shared.invalidation.generation_of(V1) == first
    assert await shared.other_invalidation.generation_of(V1) == first


async def test_invalidating_gives_the_named_vendors_a_new_generation_every_process_sees(shared: Shared) -> None:
    before = {v: await shared.invalidation.generation_of(v) for v in (V1, V2, V3)}

    await shared.other_invalidation.invalidate([V1, V2])

    after = {v: await shared.invalidation.generation_of(v) for v in (V1, V2, V3)}
    assert after[V1] != before[V1] and after[V2] != before[V2]
    assert after[V3] == before[V3]


async def test_a_generation_is_never_used_again(shared: Shared) -> None:
    seen = [await shared.invalidation.generation_of(V1)]
    for _ in range(3):
        await shared.invalidation.invalidate([V1])
        seen.append(await shared.invalidation.generation_of(V1))

    assert len(set(seen)) == len(seen)


async def test_invalidating_no_vendor_changes_nothing(shared: Shared) -> None:
    before = await shared.invalidation.generation_of(V1)

    await shared.invalidation.invalidate([])

    assert await shared.invalidation.generation_of(V1) == before


async def test_a_generation_the_store_lost_comes_back_as_a_new_one(shared: Shared) -> None:
    before = await shared.invalidation.generation_of(V1)

    await shared.lose_everything()

    again = await shared.invalidation.generation_of(V1)
    assert again != before
    assert await shared.other_invalidation.generation_of(V1) == again
