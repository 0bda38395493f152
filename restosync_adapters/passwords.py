"""BcryptTokenHasher: agent tokens hashed with bcrypt (10 rounds), always in a worker thread.

bcrypt 5 refuses secrets over 72 bytes, and tokens may be longer (up to 1024
characters), so each token is pre-hashed: ``base64(sha256(token))`` (44 ASCII
bytes, no NUL) is what bcrypt sees. The stored value is a standard
``$2b$10$...`` bcrypt hash of that pre-hash.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib

import bcrypt

BCRYPT_ROUNDS = 10


def prehash(token: str) -> bytes:
    return base64.b64encode(hashlib.sha256(token.encode("utf-8")).digest())


class BcryptTokenHasher:
    def __init__(self, rounds: int = BCRYPT_ROUNDS) -> None:
        self._rounds = rounds
        # Verified against when the vendor has no agent, so that costs the same time as a wrong token.
        self._decoy = bcrypt.hashpw(prehash("decoy"), bcrypt.gensalt(rounds))

    async def hash(self, token: str) -> str:
        hashed = await asyncio.to_thread(bcrypt.hashpw, prehash(token), bcrypt.gensalt(self._rounds))
        return hashed.decode("ascii")

    async def verify(self, token: str, hashed: str | None) -> bool:
        target = self._decoy if hashed is None else hashed.encode("ascii")
        try:
            ok = await asyncio.to_thread(bcrypt.checkpw, prehash(token), target)
        except ValueError:  # not a bcrypt hash at all
            return False
        return ok and hashed is not None
