"""Record agents' heartbeats: online from now on, written through or coalesced into one write a second.

An agent heartbeats every 30 s and turns degraded only after 60 s of silence,
so a heartbeat need not reach the database within the request. With a flush
interval (the default in the API, ``AGENT_HEARTBEAT_FLUSH_SECONDS``), each API
process keeps the latest heartbeat per vendor in memory and writes them all in
one set-based statement per interval: the request costs no database round trip,
and a thousand agents cost one ``UPDATE`` a second instead of a thousand
transactions. Reads lag a heartbeat by at most the interval; a crash loses at
most one interval of heartbeats (the next ones, 30 s later, repair it). With an
interval of 0 each heartbeat is written before the request answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime

from restosync_core.errors import Unauthenticated
from restosync_core.model.agents import AgentStatus
from restosync_core.model.audit import NO_REQUEST, AuditEntry
from restosync_core.model.ids import VendorId
from restosync_core.policies.agent_identity import ensure_acts_for
from restosync_core.ports.agents import Heartbeat, HeartbeatRecorded
from restosync_core.ports.clock import Clock
from restosync_core.ports.unit_of_work import UnitOfWorkFactory
from restosync_core.use_cases.authenticate_agent import AGENT_AUTH_FAILED
from restosync_core.use_cases.register_agent import MAX_VERSION_LENGTH

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class HeartbeatAck:
    vendor_id: VendorId
    received_at: datetime
    status: AgentStatus = AgentStatus.ONLINE


class RecordAgentHeartbeat:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, *, flush_interval: float = 0.0) -> None:
        self._uow = uow
        self._clock = clock
        self._interval = flush_interval
        self._pending: dict[VendorId, Heartbeat] = {}
        self._flusher: asyncio.Task[None] | None = None
        self._closed = False

    async def __call__(
        self, vendor_id: VendorId, *, named_vendor: str | None = None, version: str | None = None
    ) -> HeartbeatAck:
        """``vendor_id`` is the authenticated vendor; ``named_vendor`` what the body claims (403 if other)."""
        ensure_acts_for(vendor_id, named_vendor, what="the heartbeat")
        if version is not None:
            version = version[:MAX_VERSION_LENGTH]
        beat = Heartbeat(vendor_id, self._clock.now(), version)
        if self._interval <= 0 or self._closed:
            if not await self._write([beat]):  # deregistered between authentication and now
                raise Unauthenticated(AGENT_AUTH_FAILED)
        else:
            self._buffer(beat)
            self._ensure_flusher()
        return HeartbeatAck(vendor_id, beat.at)

    def _buffer(self, beat: Heartbeat) -> None:
        earlier = self._pending.get(beat.vendor_id)
        if earlier is not None and beat.version is None:
            beat = Heartbeat(beat.vendor_id, max(beat.at, earlier.at), earlier.version)
        self._pending[beat.vendor_id] = beat

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def flush(self) -> int:
        """Write every buffered heartbeat now; answer how many agents were recorded."""
        if not self._pending:
            return 0
        batch, self._pending = self._pending, {}
        try:
            return len(await self._write(list(batch.values())))
        except Exception:
            for vendor, beat in batch.items():  # keep them for the next flush, unless superseded
                self._pending.setdefault(vendor, beat)
            raise

    async def _write(self, beats: list[Heartbeat]) -> list[HeartbeatRecorded]:
        async with self._uow() as uow:
            recorded = await uow.agents.record_heartbeats(beats)
            back = [r for r in recorded if r.previous_status is not AgentStatus.ONLINE]
            if back:
                now = self._clock.now()
                await uow.audit_log.record_many(
                    [
                        AuditEntry(
                            action="agent.status_changed",
                            entity_type="agent",
                            entity_id=r.agent.vendor_id,
                            context=NO_REQUEST,
                            created_at=now,
                            details={"from": r.previous_status.value, "to": AgentStatus.ONLINE.value,
                                     "lastSeenAt": r.agent.last_seen_at.isoformat()},
                        )
                        for r in back
                    ]
                )
        for r in back:
            log.info("agent of vendor %s is back online (was %s)", r.agent.vendor_id, r.previous_status)
        return recorded

    def _ensure_flusher(self) -> None:
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush_forever())

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.flush()
            except Exception:  # the database is briefly away: the heartbeats stay buffered
                log.warning("could not write %d buffered heartbeat(s); retrying", len(self._pending), exc_info=True)

    async def close(self) -> None:
        """Stop the background flusher and write what is buffered (process shutdown)."""
        self._closed = True
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
            self._flusher = None
        try:
            await self.flush()
        except Exception:
            log.warning("lost %d buffered heartbeat(s) at shutdown", len(self._pending), exc_info=True)
