"""Alerts to a fake Slack webhook (a real local HTTP server) from the real services on PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from structlog.testing import capture_logs

from restosync_adapters.alerts import SlackNotifier
from restosync_adapters.bootstrap import Services, bootstrap
from restosync_adapters.settings import Settings
from restosync_core.model.ids import VendorId
from restosync_core.ports.alerts import Alert, AlertType
from restosync_core.use_cases.send_alerts import SendAlerts
from tests.conftest import make_settings
from tests.fakes import FakeClock
from tests.integration.maintenance.conftest import FakeSlack
from tests.waiting import wait_until

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _settings(clean_db: str, redis_ns: str, slack: FakeSlack, **env: str) -> Settings:
    return make_settings(clean_db, redis_ns, SLACK_WEBHOOK_URL=slack.url, **env)


def _seed(url: str) -> None:
    """Three agents silent for 10 minutes; two unresolved dead letters for acme, one for bistro."""
    with psycopg.connect(url, autocommit=True) as conn:
        for vendor in ("acme", "bistro", "cafe"):
            conn.execute(
                "INSERT INTO agent_registry (vendor_id, agent_url, auth_token_hash, last_heartbeat_at, "
                "status_changed_at, outbound_token, signing_secret) "
                "VALUES (%s, 'http://127.0.0.1:9', 'x', %s, %s, 'rso_out_x', 'whsec_eA==')",
                (vendor, NOW - timedelta(minutes=10), NOW - timedelta(minutes=10)),
            )
        for vendor, hours in (("acme", 5), ("acme", 1), ("bistro", 2)):
            conn.execute(
                "INSERT INTO dead_letter_queue (vendor_id, job_type, payload, attempts, created_at) "
                "VALUES (%s, 'create-order', '{}', 5, %s)",
                (vendor, NOW - timedelta(hours=hours)),
            )


@asynccontextmanager
async def started(settings: Settings) -> AsyncIterator[Services]:
    services = bootstrap(settings, clock=FakeClock(NOW))
    await services.start()
    try:
        yield services
    finally:
        await services.stop()


def _notifier(services: Services) -> SlackNotifier:
    assert isinstance(services.alerts, SendAlerts) and isinstance(services.alerts.notifier, SlackNotifier)
    return services.alerts.notifier


def run(make: Callable[[], Awaitable[Any]]) -> Any:
    return asyncio.run(make())  # type: ignore[arg-type]


def test_the_fake_slack_receives_one_grouped_readable_message_per_kind_once_per_window(
    clean_db: str, redis_ns: str, slack: FakeSlack
) -> None:
    settings = _settings(clean_db, redis_ns, slack)
    _seed(settings.database_url)

    async def scenario() -> None:
        async with started(settings) as first, started(settings) as second:  # two processes
            report = await first.check_agent_health()
            assert report.alerts_sent == 3
            wait_until(lambda: len(slack.texts()) == 1, 10, "the agent_offline message")
            assert await first.alert_dead_letters() == 3
            wait_until(lambda: len(slack.texts()) == 2, 10, "the dlq_entries_found message")
            # the other process raises the same alerts within the window: nobody is told twice
            assert await second.alert_dead_letters() == 3
            await second.alerts.send(
                Alert(
                    AlertType.CIRCUIT_BREAKER_OPEN,
                    "Circuit breaker cafe:orders opened.",
                    NOW,
                    VendorId("cafe"),
                    subject="orders",
                    since=NOW,
                )
            )
            wait_until(lambda: len(slack.texts()) == 3, 10, "the circuit_breaker_open message")

    asyncio.run(scenario())
    offline, dlq, breaker = slack.texts()
    assert offline.startswith("[restosync] agent offline: 3 alerts, 3 vendor(s)")
    for vendor in ("acme", "bistro", "cafe"):
        assert (
            f"• The agent of vendor {vendor} is offline: no heartbeat for 600 s. (since 2026-03-01 11:50 UTC)"
            in offline
        )
    assert "What to do: Check that the agent runs" in offline
    assert dlq.startswith("[restosync] orders in the dead-letter queue: 2 alerts, 2 vendor(s)")
    assert "Vendor acme has 2 unresolved dead letter(s); the oldest is from 2026-03-01 07:00 UTC." in dlq
    assert "Vendor bistro has 1 unresolved dead letter(s)" in dlq
    assert "POST /api/admin/dlq/{id}/retry" in dlq
    assert breaker.startswith("[restosync] circuit breaker open (vendor cafe)")


@pytest.mark.parametrize(
    ("misbehaviour", "timeout"), [("answers 500", "5"), ("hangs", "30"), ("hangs past the timeout", "1")]
)
def test_a_webhook_that_fails_or_hangs_changes_nothing_for_the_caller(
    misbehaviour: str, timeout: str, clean_db: str, redis_ns: str, slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    settings = _settings(clean_db, redis_ns, slack, SLACK_TIMEOUT_SECONDS=timeout)
    _seed(settings.database_url)
    caplog.set_level(logging.INFO)
    hanging = misbehaviour.startswith("hangs")

    async def scenario() -> None:
        async with started(settings) as services:
            notifier = _notifier(services)
            if hanging:
                slack.hang()
                await services.alerts.send(Alert(AlertType.RECONCILIATION_DRIFT, "warm-up", NOW, VendorId("x")))
                wait_until(lambda: slack.in_flight == 1, 10, "the webhook to hold the first post")
            else:
                slack.answer(500)
            report = await services.check_agent_health()
            letters = await services.alert_dead_letters()
            assert (report.checked, report.alerts_sent, letters) == (3, 3, 3), "the caller's full answer"
            if misbehaviour == "hangs":
                # a 30 s timeout: had the tasks waited for Slack they would still be waiting
                assert (slack.in_flight, notifier.sent, notifier.failed) == (1, 0, 0)
                slack.release()
                wait_until(lambda: notifier.sent == 3, 10, "the held posts to go through once Slack answers")
            else:
                wait_until(lambda: notifier.failed >= 1, 10, "the failure to be counted")
                slack.release()
                wait_until(lambda: notifier.sent + notifier.failed == len(slack.messages), 10, "every post to end")

    with capture_logs() as alert_lines:
        asyncio.run(scenario())
    with psycopg.connect(settings.database_url) as conn:
        statuses = conn.execute("SELECT DISTINCT status::text FROM agent_registry").fetchall()
    assert statuses == [("offline",)], "the health check's work is done whatever Slack does"
    logged = [line for line in alert_lines if line["event"] == "alert"]
    assert len(logged) == 5 + hanging, "every alert is still logged (3 agents, 2 vendors)"
    assert {line["alert_type"] for line in logged} >= {"agent_offline", "dlq_entries_found"}
    failures = [r.getMessage() for r in caplog.records if r.name == "restosync_adapters.alerts"]
    expected = {"answers 500": "Slack answered 500", "hangs": None, "hangs past the timeout": "could not post an alert"}
    if expected[misbehaviour]:
        assert any(str(expected[misbehaviour]) in line for line in failures), failures
    else:
        assert failures == []
    assert all(slack.url not in line for line in failures), "the webhook URL is a secret"


def test_a_full_slack_queue_drops_and_counts_rather_than_waiting(slack: FakeSlack) -> None:
    from restosync_core.ports.alerts import AlertMessage

    notifier = SlackNotifier(slack.url, timeout_seconds=30, queue_size=1)
    message = AlertMessage(AlertType.AGENT_OFFLINE, "held", ("agent_offline:a",))
    slack.hang()
    notifier.notify(message)
    wait_until(lambda: slack.in_flight == 1, 10, "the webhook to hold the first post")
    notifier.notify(message)  # waits in the queue
    notifier.notify(message)  # the queue is full: dropped, at once
    assert notifier.dropped == 1
    slack.release()
    wait_until(lambda: notifier.sent == 2, 10, "the two kept messages to be posted")
    notifier.close()
    assert slack.texts() == ["held", "held"]
