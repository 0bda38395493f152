"""Alert adapters: a structured log line per alert, Redis for de-duplication, Slack's incoming webhook.

``SlackNotifier`` posts from a thread of its own through a bounded queue: ``notify``
only enqueues (a full queue drops the message, counted and logged), so a webhook
that hangs or fails costs the caller nothing. Each post has a bounded timeout;
failures are logged (without the webhook URL, which is a secret) and counted.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Sequence

import httpx
import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from restosync_core.errors import DependencyUnavailable
from restosync_core.ports.alerts import Alert, AlertMessage

alert_log = structlog.get_logger("restosync.alerts")
log = logging.getLogger(__name__)

SLACK_QUEUE_SIZE = 1000
"""Messages waiting for the webhook at most; more are dropped (and counted) rather than held in memory."""


class LoggingAlertSink:
    async def send(self, alert: Alert) -> None:
        alert_log.warning(
            "alert",
            alert_type=alert.type.value,
            alert_key=alert.key,
            message=alert.message,
            vendor_id=alert.vendor_id,
            at=alert.at.isoformat(),
            since=alert.since.isoformat() if alert.since else None,
            **{f"detail_{k}": v for k, v in alert.details.items()},
        )

    async def send_many(self, alerts: Sequence[Alert]) -> None:
        for alert in alerts:
            await self.send(alert)


class RedisAlertThrottle:
    """``SET <prefix>:alert-told:<key> NX EX window`` per key: the first process to set it tells the alert."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis = redis
        self.prefix = prefix

    async def first_in_window(self, keys: Sequence[str], window_seconds: int) -> set[str]:
        if not keys:
            return set()
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.set(f"{self.prefix}:alert-told:{key}", "1", nx=True, ex=max(window_seconds, 1))
                results = await pipe.execute()
        except RedisError as exc:
            raise DependencyUnavailable("alert de-duplication (Redis) is unavailable") from exc
        return {key for key, was_set in zip(keys, results, strict=True) if was_set}


class SlackNotifier:
    """Posts ``{"text": ...}`` to a Slack incoming webhook from a background thread.

    ``sent``, ``failed`` and ``dropped`` count what happened to the messages handed over.
    """

    def __init__(self, url: str, *, timeout_seconds: float = 5.0, queue_size: int = SLACK_QUEUE_SIZE) -> None:
        self._url = url
        self._timeout = timeout_seconds
        self._queue: queue.Queue[AlertMessage | None] = queue.Queue(maxsize=queue_size)
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.sent = 0
        self.failed = 0
        self.dropped = 0

    def notify(self, message: AlertMessage) -> None:
        self._ensure_thread()
        try:
            self._queue.put_nowait(message)
        except queue.Full:
            self.dropped += 1
            log.warning(
                "the Slack queue is full; dropped an alert of type %s (%d dropped so far)", message.type, self.dropped
            )

    def close(self, timeout: float = 2.0) -> None:
        """Stop the thread after what is queued, waiting ``timeout`` seconds at most (it is a daemon)."""
        thread = self._thread
        if thread is None:
            return
        try:
            self._queue.put_nowait(None)
        except queue.Full:  # a webhook that cannot keep up: what is queued is lost with the process
            log.warning("stopping with %d alert message(s) not posted to Slack", self._queue.qsize())
            return
        thread.join(timeout)

    def _ensure_thread(self) -> None:
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="slack-alerts", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        with httpx.Client(timeout=self._timeout) as client:
            while (message := self._queue.get()) is not None:
                self._post(client, message)

    def _post(self, client: httpx.Client, message: AlertMessage) -> None:
        try:
            response = client.post(self._url, json={"text": message.text})
        except httpx.HTTPError as exc:
            self.failed += 1
            log.warning(
                "could not post an alert of type %s to Slack (%s); %d failed so far",
                message.type,
                type(exc).__name__,
                self.failed,
            )
            return
        if response.is_success:
            self.sent += 1
        else:
            self.failed += 1
            log.warning(
                "Slack answered %d to an alert of type %s; %d failed so far",
                response.status_code,
                message.type,
                self.failed,
            )
