"""Fakes of the agent registry's ports: the agents table, a fast token hasher, the token cache, alerts."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from restosync_core.model.agents import Agent, AgentStatus
from restosync_core.model.ids import AgentId, VendorId
from restosync_core.model.pagination import Page, PageRequest
from restosync_core.policies.agent_health import StatusTransition
from restosync_core.ports.agents import Heartbeat, HeartbeatRecorded, NewRegistration
from restosync_core.ports.alerts import Alert
from restosync_core.ports.rate_limit import RateCharge, RateDecision, Throttled

AGENTS = "agent_registry"


class FakeAgentRepository:
    """``db.tables['agent_registry']``: vendor id -> Agent (the audit log is ``tests.fakes.audit``)."""

    def __init__(self, db: Any) -> None:
        self._rows: dict[str, Agent] = db.table(AGENTS)

    async def get(self, vendor_id: VendorId) -> Agent | None:
        return self._rows.get(vendor_id)

    async def get_for_update(self, vendor_id: VendorId) -> Agent | None:
        return self._rows.get(vendor_id)

    async def insert(self, registration: NewRegistration) -> Agent | None:
        if registration.vendor_id in self._rows:
            return None
        assert registration.outbound is not None, "a new agent gets an outbound credential"
        at = registration.at
        agent = Agent(
            id=AgentId(uuid.uuid4()),
            vendor_id=registration.vendor_id,
            agent_url=registration.agent_url,
            auth_token_hash=registration.auth_token_hash,
            version=registration.version,
            status=AgentStatus.ONLINE,
            last_heartbeat_at=at,
            registered_at=at,
            updated_at=at,
            status_changed_at=at,
            outbound_token=registration.outbound.token,
            signing_secret=registration.outbound.signing_secret,
        )
        self._rows[agent.vendor_id] = agent
        return agent

    async def update_registration(self, registration: NewRegistration, *, token_replaced: bool) -> Agent:
        old = self._rows[registration.vendor_id]
        at = registration.at
        agent = replace(
            old,
            agent_url=registration.agent_url,
            auth_token_hash=registration.auth_token_hash,
            version=registration.version if registration.version is not None else old.version,
            last_heartbeat_at=at,
            updated_at=at,
            status=AgentStatus.ONLINE,
            status_changed_at=old.status_changed_at if old.status is AgentStatus.ONLINE else at,
            outbound_token=registration.outbound.token if registration.outbound else old.outbound_token,
            signing_secret=registration.outbound.signing_secret if registration.outbound else old.signing_secret,
        )
        self._rows[agent.vendor_id] = agent
        return agent

    async def record_heartbeats(self, heartbeats: Sequence[Heartbeat]) -> list[HeartbeatRecorded]:
        assert len({h.vendor_id for h in heartbeats}) == len(heartbeats), "one heartbeat per vendor"
        recorded = []
        for beat in heartbeats:
            old = self._rows.get(beat.vendor_id)
            if old is None:
                continue
            agent = replace(
                old,
                last_heartbeat_at=max(beat.at, old.last_heartbeat_at) if old.last_heartbeat_at else beat.at,
                status=AgentStatus.ONLINE,
                status_changed_at=old.status_changed_at if old.status is AgentStatus.ONLINE else beat.at,
                version=beat.version if beat.version is not None else old.version,
            )
            self._rows[beat.vendor_id] = agent
            recorded.append(HeartbeatRecorded(agent, old.status))
        return recorded

    async def update(
        self, vendor_id: VendorId, *, agent_url: str | None, settings: dict[str, object] | None, at: datetime
    ) -> Agent | None:
        old = self._rows.get(vendor_id)
        if old is None:
            return None
        agent = replace(
            old,
            agent_url=agent_url if agent_url is not None else old.agent_url,
            settings=dict(settings) if settings is not None else old.settings,
            updated_at=at,
        )
        self._rows[vendor_id] = agent
        return agent

    async def delete(self, vendor_id: VendorId) -> bool:
        return self._rows.pop(vendor_id, None) is not None

    async def page(self, request: PageRequest) -> Page[Agent]:
        ordered = [self._rows[k] for k in sorted(self._rows)]
        return Page(ordered[request.offset : request.offset + request.limit], request.page, request.limit, len(ordered))

    async def all(self) -> list[Agent]:
        return [self._rows[k] for k in sorted(self._rows)]

    async def apply_transitions(self, planned: Sequence[StatusTransition]) -> list[StatusTransition]:
        applied = []
        for t in planned:
            agent = self._rows.get(t.vendor_id)
            if agent is None or agent.status is not t.from_status or agent.last_seen_at != t.last_seen_at:
                continue
            self._rows[t.vendor_id] = replace(agent, status=t.to_status, status_changed_at=t.at)
            applied.append(t)
        return applied


class FakeTokenHasher:
    """A salted SHA-256 instead of bcrypt (same contract, microseconds instead of 60 ms)."""

    calls = 0

    async def hash(self, token: str) -> str:
        FakeTokenHasher.calls += 1
        salt = uuid.uuid4().hex[:16]
        return f"fake${salt}${hashlib.sha256((salt + token).encode()).hexdigest()}"

    async def verify(self, token: str, hashed: str | None) -> bool:
        FakeTokenHasher.calls += 1
        if hashed is None or not hashed.startswith("fake$"):
            return False
        _, salt, digest = hashed.split("$")
        return hashlib.sha256((salt + token).encode()).hexdigest() == digest


class FakeTokenCache:
    """Digests per vendor plus a revocation counter, like the Redis one (no TTL)."""

    def __init__(self) -> None:
        self.entries: dict[str, str] = {}
        self.generations: dict[str, int] = {}

    @staticmethod
    def _digest(vendor_id: str, token: str) -> str:
        return hashlib.sha256(f"{vendor_id}\0{token}".encode()).hexdigest()

    async def recognises(self, vendor_id: VendorId, token: str) -> bool:
        return self.entries.get(vendor_id) == self._digest(vendor_id, token)

    async def stamp(self, vendor_id: VendorId) -> str:
        return str(self.generations.get(vendor_id, 0))

    async def remember(self, vendor_id: VendorId, token: str, stamp: str) -> None:
        if stamp == str(self.generations.get(vendor_id, 0)):
            self.entries[vendor_id] = self._digest(vendor_id, token)

    async def forget(self, vendor_id: VendorId) -> None:
        self.generations[vendor_id] = self.generations.get(vendor_id, 0) + 1
        self.entries.pop(vendor_id, None)


class FakeAlertSink:
    def __init__(self, *, failing: bool = False) -> None:
        self.sent: list[Alert] = []
        self.failing = failing

    async def send(self, alert: Alert) -> None:
        if self.failing:
            raise ConnectionError("alert channel down")
        self.sent.append(alert)

    async def send_many(self, alerts: Sequence[Alert]) -> None:
        if self.failing:
            raise ConnectionError("alert channel down")
        self.sent.extend(alerts)


class FakeRateLimiter:
    """Counts per (name, key) without time; ``reset()`` opens every window again."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str], int] = {}

    async def hit(self, charges: Sequence[RateCharge]) -> RateDecision:
        for charge in charges:
            if self.counts.get((charge.name, charge.key), 0) >= charge.limit:
                return RateDecision(allowed=False, exceeded=charge, retry_after_seconds=charge.window_seconds)
        for charge in charges:
            self.counts[(charge.name, charge.key)] = self.counts.get((charge.name, charge.key), 0) + 1
        return RateDecision(allowed=True)

    def reset(self) -> None:
        self.counts.clear()


class FakeAuthThrottle:
    """``AuthThrottle`` in memory: failures per client and per vendor, no window (the test decides)."""

    def __init__(self, per_vendor: int) -> None:
        self.per_vendor = per_vendor
        self.failures: list[tuple[str, str | None]] = []

    async def vendor_throttled(self, vendor_id: str) -> Throttled | None:
        count = sum(1 for _, vendor in self.failures if vendor == vendor_id)
        return Throttled(self.per_vendor, 300, 42) if count >= self.per_vendor else None

    async def failed(self, client: str, vendor_id: str | None) -> None:
        self.failures.append((client, vendor_id))
