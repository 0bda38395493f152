"""Authenticate an agent request: ``Bearer <token>`` + ``X-Vendor-ID``, bcrypt once, then the cache."""

from __future__ import annotations

from restosync_core.errors import Unauthenticated
from restosync_core.model.ids import VendorId, is_valid_vendor_id
from restosync_core.ports.agents import AgentTokenCache, TokenHasher
from restosync_core.ports.unit_of_work import UnitOfWorkFactory
from restosync_core.use_cases.register_agent import MAX_TOKEN_LENGTH

AGENT_AUTH_FAILED = "a valid agent token (Authorization: Bearer) and X-Vendor-ID are required"
"""The one message of every agent authentication failure: it never says which part was wrong."""


class AuthenticateAgent:
    """Answer the vendor a token proves, or raise Unauthenticated (always the same message).

    The first request with a token costs one bcrypt verification (in a thread);
    later ones are recognised by the token cache until it expires or the token
    is revoked. An unknown vendor costs the same bcrypt time as a wrong token.
    """

    def __init__(self, uow: UnitOfWorkFactory, hasher: TokenHasher, tokens: AgentTokenCache) -> None:
        self._uow = uow
        self._hasher = hasher
        self._tokens = tokens

    async def __call__(self, vendor_id: str, token: str) -> VendorId:
        if not is_valid_vendor_id(vendor_id) or not token or len(token) > MAX_TOKEN_LENGTH:
            raise Unauthenticated(AGENT_AUTH_FAILED)
        vendor = VendorId(vendor_id)
        if await self._tokens.recognises(vendor, token):
            return vendor
        stamp = await self._tokens.stamp(vendor)
        async with self._uow() as uow:
            agent = await uow.agents.get(vendor)
        stored = agent.auth_token_hash if agent is not None else None
        if not await self._hasher.verify(token, stored) or stored is None:
            raise Unauthenticated(AGENT_AUTH_FAILED)
        await self._tokens.remember(vendor, token, stamp)
        return vendor
