"""Register an agent (upsert): the shared secret admits the caller, the vendor's current token owns the row."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from restosync_core.errors import Conflict, Forbidden, ValidationFailed
from restosync_core.model.agents import Agent, OutboundCredential
from restosync_core.model.audit import NO_REQUEST, AuditEntry, RequestContext
from restosync_core.model.ids import VendorId, is_valid_vendor_id
from restosync_core.policies.agent_url import AgentUrlPolicy
from restosync_core.ports.agents import AgentTokenCache, NewRegistration, TokenHasher
from restosync_core.ports.clock import Clock
from restosync_core.ports.unit_of_work import UnitOfWorkFactory

log = logging.getLogger(__name__)

MIN_TOKEN_LENGTH = 32
MAX_TOKEN_LENGTH = 1024
MAX_VERSION_LENGTH = 64


@dataclass(frozen=True, slots=True)
class Registration:
    vendor_id: str
    agent_url: str
    auth_token: str
    version: str | None = None
    current_token: str | None = None
    """Proof of the token stored now (``X-Agent-Token``), needed only to replace it."""


@dataclass(frozen=True, slots=True)
class Registered:
    agent: Agent
    created: bool
    token_replaced: bool


def validate_registration(reg: Registration, url_policy: AgentUrlPolicy) -> VendorId:
    if not is_valid_vendor_id(reg.vendor_id):
        raise ValidationFailed("vendorId must be 1-64 characters of [A-Za-z0-9._-]", path="$.vendorId")
    url_policy.check(reg.agent_url)
    if not MIN_TOKEN_LENGTH <= len(reg.auth_token) <= MAX_TOKEN_LENGTH:
        raise ValidationFailed(
            f"authToken must be {MIN_TOKEN_LENGTH}-{MAX_TOKEN_LENGTH} characters", path="$.authToken"
        )
    if reg.version is not None and len(reg.version) > MAX_VERSION_LENGTH:
        raise ValidationFailed(f"version must be at most {MAX_VERSION_LENGTH} characters", path="$.version")
    return VendorId(reg.vendor_id)


class RegisterAgent:
    """Create the vendor's agent, or update it when the caller proves the token stored now.

    Holding only the shared secret is enough to register a *new* vendor, never to
    change an existing one: that needs the current token, either as ``authToken``
    (same token: URL and version may change) or as ``current_token`` (the token is
    replaced). Otherwise 409, and an admin deregisters first. A re-registration
    without ``version`` keeps the stored one. ``agentUrl`` must pass ``url_policy``.

    A new agent gets an ``OutboundCredential`` for our calls to it; a replaced token
    replaces it too (the old one stops being sent at once). Every successful
    registration answers the agent's current one.
    """

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        hasher: TokenHasher,
        tokens: AgentTokenCache,
        clock: Clock,
        url_policy: AgentUrlPolicy | None = None,
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._tokens = tokens
        self._clock = clock
        self._url_policy = url_policy or AgentUrlPolicy()

    async def __call__(self, reg: Registration, *, context: RequestContext = NO_REQUEST) -> Registered:
        """``context``: the request that asked, for the audit log."""
        vendor_id = validate_registration(reg, self._url_policy)
        async with self._uow() as uow:
            now = self._clock.now()
            existing = await uow.agents.get_for_update(vendor_id)
            if existing is None:
                hashed = await self._hasher.hash(reg.auth_token)
                new = NewRegistration(vendor_id, reg.agent_url, hashed, reg.version, now, OutboundCredential.issue())
                agent = await uow.agents.insert(new)
                if agent is not None:
                    await uow.audit_log.record(
                        AuditEntry(
                            action="agent.registered",
                            entity_type="agent",
                            entity_id=vendor_id,
                            context=context,
                            created_at=now,
                            details={"agentUrl": reg.agent_url},
                        )
                    )
                    log.info("agent of vendor %s registered", vendor_id)
                    return Registered(agent, created=True, token_replaced=False)
                # Someone registered the same vendor a moment ago: treat it as existing.
                existing = await uow.agents.get_for_update(vendor_id)
                assert existing is not None
            replaced = await self._prove_ownership(existing, reg)
            hashed = await self._hasher.hash(reg.auth_token) if replaced else existing.auth_token_hash
            version = existing.version if reg.version is None else reg.version
            outbound = OutboundCredential.issue() if replaced else None  # rotated with the token
            new = NewRegistration(vendor_id, reg.agent_url, hashed, version, now, outbound)
            agent = await uow.agents.update_registration(new, token_replaced=replaced)
            if replaced:
                await uow.audit_log.record(
                    AuditEntry(
                        action="agent.token_replaced",
                        entity_type="agent",
                        entity_id=vendor_id,
                        context=context,
                        created_at=now,
                    )
                )
                await self._tokens.forget(vendor_id)  # fails -> nothing is committed
        if replaced:
            await self._tokens.forget(vendor_id)  # again: a verification may have raced the commit
        return Registered(agent, created=False, token_replaced=replaced)

    async def _prove_ownership(self, existing: Agent, reg: Registration) -> bool:
        """True when the token is to be replaced; raise when the caller did not prove the current one."""
        if await self._hasher.verify(reg.auth_token, existing.auth_token_hash):
            return False
        if reg.current_token is None:
            raise Conflict(
                f"vendor {existing.vendor_id} is already registered with another token: "
                "send the current token in X-Agent-Token to replace it, or ask an admin to deregister it"
            )
        if not await self._hasher.verify(reg.current_token, existing.auth_token_hash):
            raise Forbidden("X-Agent-Token is not the vendor's current token")
        return True
