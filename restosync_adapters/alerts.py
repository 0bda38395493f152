"""LoggingAlertSink: every alert as one structured log line (the Slack sink builds on it)."""

from __future__ import annotations

import structlog

from restosync_core.ports.alerts import Alert

alert_log = structlog.get_logger("restosync.alerts")


class LoggingAlertSink:
    async def send(self, alert: Alert) -> None:
        alert_log.warning(
            "alert",
            alert_type=alert.type.value,
            message=alert.message,
            vendor_id=alert.vendor_id,
            at=alert.at.isoformat(),
            **{f"detail_{k}": v for k, v in alert.details.items()},
        )
