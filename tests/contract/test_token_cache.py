"""Contract of the AgentTokenCache: remember a verified token, recognise it everywhere, revoke it at once."""

from __future__ import annotations

import pytest

from restosync_core.model.ids import VendorId
from tests.contract.conftest import Shared

pytestmark = pytest.mark.anyio

V1, V2 = VendorId("vendor-1"), VendorId("vendor-2")


async def test_a_token_never_remembered_is_not_recognised(shared: Shared) -> None:
    assert await shared.token_cache.recognises(V1, "token") is False


async def test_a_remembered_token_is_recognised_by_every_process_for_its_vendor_only(shared: Shared) -> None:
    cache = shared.token_cache
    await cache.remember(V1, "token-1", await cache.stamp(V1))

    assert await cache.recognises(V1, "token-1") is True
    assert await shared.other_token_cache.recognises(V1, "token-1") is True
    assert await cache.recognises(V1, "another-token") is False
    assert await cache.recognises(V2, "token-1") is False


async def test_remembering_a_new_token_replaces_the_old_one(shared: Shared) -> None:
    cache = shared.token_cache
    await cache.remember(V1, "old", await cache.stamp(V1))
    await cache.remember(V1, "new", await cache.stamp(V1))

    assert (await cache.recognises(V1, "old"), await cache.recognises(V1, "new")) == (False, True)


async def test_forget_revokes_the_token_for_every_process_and_changes_the_stamp(shared: Shared) -> None:
    cache = shared.token_cache
    before = await cache.stamp(V1)
    await cache.remember(V1, "token-1", before)
    await cache.remember(V2, "token-2", await cache.stamp(V2))

    await shared.other_token_cache.forget(V1)

    assert await cache.recognises(V1, "token-1") is False
    assert await cache.recognises(V2, "token-2") is True
    assert await cache.stamp(V1) != before


async def test_a_verification_that_raced_a_revocation_is_not_remembered(shared: Shared) -> None:
    cache = shared.token_cache
    stamp = await cache.stamp(V1)  # read before the stored hash, as a verification does
    await shared.other_token_cache.forget(V1)  # meanwhile the token is revoked

    await cache.remember(V1, "token-1", stamp)

    assert await cache.recognises(V1, "token-1") is False
    await cache.remember(V1, "token-1", await cache.stamp(V1))  # a fresh verification is
    assert await cache.recognises(V1, "token-1") is True
