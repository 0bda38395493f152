"""The periodic agent health check: record status transitions, alert once per agent going offline (grouped)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from restosync_core.model.audit import NO_REQUEST, AuditEntry
from restosync_core.policies.agent_health import StatusTransition, plan_transitions
from restosync_core.ports.alerts import Alert, AlertSink, AlertType
from restosync_core.ports.clock import Clock
from restosync_core.ports.unit_of_work import UnitOfWorkFactory

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class HealthCheckReport:
    checked: int
    transitions: list[StatusTransition]
    alerts_sent: int


class CheckAgentHealth:
    """Compare each agent's status as of now with the recorded one and record the changes.

    A transition is recorded only if no heartbeat arrived since it was planned,
    so a check racing a heartbeat never marks a live agent down. Alerts go out
    after the commit, one per recorded transition into ``offline``: the next
    check sees ``offline`` recorded and stays quiet until the agent comes back
    and goes away again.
    """

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, alerts: AlertSink) -> None:
        self._uow = uow
        self._clock = clock
        self._alerts = alerts

    async def __call__(self) -> HealthCheckReport:
        now = self._clock.now()
        async with self._uow() as uow:
            agents = await uow.agents.all()
            recorded = await uow.agents.apply_transitions(plan_transitions(agents, now))
            await uow.audit_log.record_many(
                [
                    AuditEntry(
                        action="agent.status_changed",
                        entity_type="agent",
                        entity_id=t.vendor_id,
                        context=NO_REQUEST,
                        created_at=now,
                        details={"from": t.from_status.value, "to": t.to_status.value,
                                 "lastSeenAt": t.last_seen_at.isoformat()},
                    )
                    for t in recorded
                ]
            )
        for t in recorded:
            log.info("agent of vendor %s went from %s to %s", t.vendor_id, t.from_status, t.to_status)
        sent = await self._alert([t for t in recorded if t.went_offline])
        return HealthCheckReport(checked=len(agents), transitions=recorded, alerts_sent=sent)

    async def _alert(self, offline: list[StatusTransition]) -> int:
        """One alert per agent gone offline, raised together (the alert service groups them)."""
        if not offline:
            return 0
        alerts = [
            Alert(
                type=AlertType.AGENT_OFFLINE,
                message=f"The agent of vendor {t.vendor_id} is offline: no heartbeat for "
                f"{int((t.at - t.last_seen_at).total_seconds())} s.",
                at=t.at,
                vendor_id=t.vendor_id,
                since=t.last_seen_at,
                details={"lastSeenAt": t.last_seen_at.isoformat(), "previousStatus": t.from_status.value},
            )
            for t in offline
        ]
        try:
            await self._alerts.send_many(alerts)
        except Exception:  # an alert channel down must not fail the health check
            log.exception("could not send the agent_offline alert(s) for %d agent(s)", len(alerts))
            return 0
        return len(alerts)
