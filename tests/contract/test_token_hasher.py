"""Contract of the TokenHasher: a salted hash that verifies its token only, and never contains it."""

from __future__ import annotations

import pytest

from restosync_adapters.passwords import BcryptTokenHasher
from restosync_core.ports.agents import TokenHasher
from tests.fakes.agents import FakeTokenHasher

pytestmark = pytest.mark.anyio

TOKEN = "token-0-" + "t" * 32


@pytest.fixture(params=["fake", "bcrypt"])
def hasher(request: pytest.FixtureRequest) -> TokenHasher:
    return FakeTokenHasher() if request.param == "fake" else BcryptTokenHasher(rounds=4)  # few rounds: fast


async def test_a_hash_verifies_its_token_and_no_other(hasher: TokenHasher) -> None:
    hashed = await hasher.hash(TOKEN)

    assert await hasher.verify(TOKEN, hashed) is True
    assert await hasher.verify(TOKEN + "x", hashed) is False
    assert TOKEN not in hashed


async def test_hashes_are_salted(hasher: TokenHasher) -> None:
    first, second = await hasher.hash(TOKEN), await hasher.hash(TOKEN)

    assert first != second
    assert await hasher.verify(TOKEN, first) and await hasher.verify(TOKEN, second)


async def test_no_hash_or_a_foreign_one_verifies_nothing(hasher: TokenHasher) -> None:
    assert await hasher.verify(TOKEN, None) is False
    assert await hasher.verify(TOKEN, "not-a-hash") is False


async def test_tokens_longer_than_bcrypts_72_bytes_are_told_apart(hasher: TokenHasher) -> None:
    long_token = "x" * 1000
    hashed = await hasher.hash(long_token)

    assert await hasher.verify(long_token, hashed) is True
    assert await hasher.verify("x" * 999 + "y", hashed) is False
