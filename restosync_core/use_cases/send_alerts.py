"""The alert service (REQ-10): every alert logged; each new one told to people, grouped, without waiting.

An alert's key (type, vendor, subject) is told at most once per window, whichever
process raises it (the throttle's state is shared); within one call, alerts of one
type become one message (200 agents going offline is one Slack message, not 200).
Telling is handed to the notifier, which never blocks: a slow or failing webhook
cannot delay or break the task or request that raised the alert. If the throttle's
store is down the alert is told anyway (better twice than never).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from restosync_core.policies.alerts import compose
from restosync_core.ports.alerts import Alert, AlertNotifier, AlertSink, AlertThrottle

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SendAlerts:
    log_sink: AlertSink
    """Writes each alert as one structured log line (always, de-duplicated or not)."""
    throttle: AlertThrottle
    notifier: AlertNotifier | None
    """None when no channel is configured (no ``SLACK_WEBHOOK_URL``): logs only."""
    window_seconds: int = 3600

    async def send(self, alert: Alert) -> None:
        await self.send_many([alert])

    async def send_many(self, alerts: Sequence[Alert]) -> None:
        if not alerts:
            return
        try:
            await self.log_sink.send_many(alerts)
        except Exception:  # a logging problem must not hide the alert from people
            log.exception("could not log %d alert(s)", len(alerts))
        if self.notifier is None:
            return
        keys = list(dict.fromkeys(a.key for a in alerts))
        try:
            fresh = await self.throttle.first_in_window(keys, self.window_seconds)
        except Exception as exc:
            log.warning("alert de-duplication is unavailable (%s); telling every alert", exc)
            fresh = set(keys)
        new: list[Alert] = []
        for alert in alerts:
            if alert.key in fresh:
                new.append(alert)
                fresh.discard(alert.key)  # the same key twice in one call is told once
        skipped = len(alerts) - len(new)
        if skipped:
            log.info("%d alert(s) already told within %d s; not told again", skipped, self.window_seconds)
        for message in compose(new):
            self.notifier.notify(message)
