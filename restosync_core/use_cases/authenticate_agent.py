"""Authenticate an agent request: ``Bearer <token>`` + ``X-Vendor-ID``, bcrypt once, then the cache."""

from __future__ import annotations

from restosync_core.errors import RateLimited, Unauthenticated
from restosync_core.model.ids import VendorId, is_valid_vendor_id
from restosync_core.ports.agents import AgentTokenCache, TokenHasher
from restosync_core.ports.rate_limit import AuthThrottle
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

    def __init__(
        self, uow: UnitOfWorkFactory, hasher: TokenHasher, tokens: AgentTokenCache,
        throttle: AuthThrottle | None = None,
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._tokens = tokens
        self._throttle = throttle

    async def __call__(self, vendor_id: str, token: str, *, client: str = "unknown") -> VendorId:
        """``client``: the caller's address, where a failure is counted (with the vendor) by the throttle.

        A vendor with too many failed authentications lately (``AUTH_FAILURES_PER_VENDOR``) is
        throttled: a token in the cache still passes (its agent keeps working), any other gets
        ``RateLimited`` before bcrypt runs.
        """
        if not is_valid_vendor_id(vendor_id) or not token or len(token) > MAX_TOKEN_LENGTH:
            await self._failed(client, None)
            raise Unauthenticated(AGENT_AUTH_FAILED)
        vendor = VendorId(vendor_id)
        if await self._tokens.recognises(vendor, token):
            return vendor
        if self._throttle is not None and (throttled := await self._throttle.vendor_throttled(vendor)):
            raise RateLimited(
                f"too many failed authentications for vendor {vendor}: {throttled.limit} per "
                f"{throttled.window_seconds} s (AUTH_FAILURES_PER_VENDOR); retry in {throttled.retry_after_seconds} s",
                retry_after_seconds=throttled.retry_after_seconds,
            )
        stamp = await self._tokens.stamp(vendor)
        async with self._uow() as uow:
            agent = await uow.agents.get(vendor)
        stored = agent.auth_token_hash if agent is not None else None
        if not await self._hasher.verify(token, stored) or stored is None:
            await self._failed(client, vendor)
            raise Unauthenticated(AGENT_AUTH_FAILED)
        await self._tokens.remember(vendor, token, stamp)
        return vendor

    async def _failed(self, client: str, vendor: VendorId | None) -> None:
        if self._throttle is not None:
            await self._throttle.failed(client, vendor)
