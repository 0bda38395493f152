"""How alerts read to a person: alerts of one type grouped into one message with what to do."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from restosync_core.ports.alerts import Alert, AlertMessage, AlertType

MAX_LINES = 20
"""A grouped message names this many alerts, then says how many more there are."""

WHAT_TO_DO: dict[AlertType, str] = {
    AlertType.AGENT_OFFLINE: (
        "Check that the agent runs on the vendor's ERP host and can reach restosync. Its orders wait "
        "(pending) and are delivered once it is back: GET /api/admin/agents lists every agent's status."
    ),
    AlertType.DLQ_ENTRIES_FOUND: (
        "These orders did not reach the ERP. Review them (GET /api/admin/dlq?vendorId=...), fix the cause, "
        "then retry (POST /api/admin/dlq/{id}/retry) or resolve (POST /api/admin/dlq/{id}/resolve) each one."
    ),
    AlertType.CIRCUIT_BREAKER_OPEN: (
        "Calls to the agent are paused and resume by themselves once it answers again. If it lasts, "
        "check the agent; POST /api/admin/circuit-breaker/reset forces the breaker closed."
    ),
    AlertType.RECONCILIATION_DRIFT: (
        "The ERP and restosync disagree; the ERP's figures win. Review the vendor's reconciliation events."
    ),
}

HEADLINE: dict[AlertType, str] = {
    AlertType.AGENT_OFFLINE: "agent offline",
    AlertType.DLQ_ENTRIES_FOUND: "orders in the dead-letter queue",
    AlertType.CIRCUIT_BREAKER_OPEN: "circuit breaker open",
    AlertType.RECONCILIATION_DRIFT: "reconciliation drift",
}


def _when(at: datetime) -> str:
    return f"{at:%Y-%m-%d %H:%M} UTC"


def _line(alert: Alert) -> str:
    since = f" (since {_when(alert.since)})" if alert.since else ""
    return f"• {alert.message}{since}"


def compose(alerts: Sequence[Alert]) -> list[AlertMessage]:
    """One message per alert type, in the order the types first appear; every alert is in exactly one."""
    by_type: dict[AlertType, list[Alert]] = {}
    for alert in alerts:
        by_type.setdefault(alert.type, []).append(alert)
    return [_message(kind, group) for kind, group in by_type.items()]


def _message(kind: AlertType, group: list[Alert]) -> AlertMessage:
    vendors = sorted({a.vendor_id for a in group if a.vendor_id})
    if len(group) == 1:
        alert = group[0]
        who = f" (vendor {alert.vendor_id})" if alert.vendor_id else ""
        lines = [f"[restosync] {HEADLINE[kind]}{who}", alert.message]
        if alert.since:
            lines.append(f"Since: {_when(alert.since)}")
    else:
        lines = [f"[restosync] {HEADLINE[kind]}: {len(group)} alerts, {len(vendors)} vendor(s)"]
        lines += [_line(a) for a in group[:MAX_LINES]]
        if len(group) > MAX_LINES:
            lines.append(f"… and {len(group) - MAX_LINES} more")
    lines.append(f"What to do: {WHAT_TO_DO[kind]}")
    return AlertMessage(type=kind, text="\n".join(lines), keys=tuple(a.key for a in group))
