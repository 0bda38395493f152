"""The maintenance settings: defaults, and a clear message naming the variable and its limit."""

from __future__ import annotations

import pytest

from restosync_adapters.bootstrap import retention_policy
from restosync_adapters.settings import Settings, SettingsError


def test_the_defaults_are_req_10s() -> None:
    s = Settings.from_env({})
    assert (s.drift_detection_cron, s.agent_health_cron, s.dlq_alert_cron) == (
        "0 * * * *",
        "*/5 * * * *",
        "*/15 * * * *",
    )
    assert (s.job_cleanup_cron, s.reconciliation_archive_cron, s.dlq_cleanup_cron) == (
        "0 2 * * *",
        "0 3 * * 0",
        "0 4 * * 6",
    )
    policy = retention_policy(s)
    assert (
        policy.completed_jobs.total_seconds(),
        policy.failed_jobs.days,
        policy.resolved_dead_letters.days,
        policy.reconciliation_events.days,
        policy.unfinished_jobs.total_seconds(),
    ) == (86400, 7, 30, 30, 86400)
    assert (s.alert_dedup_window_seconds, s.slack_timeout_seconds, s.retention_chunk_size) == (3600, 5.0, 1000)


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        ({"DLQ_ALERT_CRON": "every 15 minutes"}, "DLQ_ALERT_CRON='every 15 minutes' is invalid: expected a cron"),
        ({"JOB_CLEANUP_CRON": "0 25 * * *"}, "JOB_CLEANUP_CRON='0 25 * * *' is invalid: expected a cron"),
        (
            {"RETENTION_COMPLETED_JOBS_HOURS": "0"},
            "RETENTION_COMPLETED_JOBS_HOURS='0' is invalid: must be between 1 and 8760",
        ),
        (
            {"RETENTION_FAILED_JOBS_DAYS": "9999"},
            "RETENTION_FAILED_JOBS_DAYS='9999' is invalid: must be between 1 and 3650",
        ),
        (
            {"RETENTION_CHUNK_SIZE": "1000000"},
            "RETENTION_CHUNK_SIZE='1000000' is invalid: must be between 1 and 100000",
        ),
        ({"ALERT_DEDUP_WINDOW_SECONDS": "x"}, "ALERT_DEDUP_WINDOW_SECONDS='x' is invalid: expected a whole number"),
        (
            {"SLACK_TIMEOUT_SECONDS": "0"},
            "SLACK_TIMEOUT_SECONDS='0' is invalid: must be above 0 and at most 30 seconds",
        ),
        ({"SLACK_WEBHOOK_URL": "http://hooks.slack.com/x"}, "SLACK_WEBHOOK_URL must be an https:// URL"),
    ],
)
def test_a_bad_value_is_named_with_its_limit(env: dict[str, str], problem: str) -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(env)
    assert any(p.startswith(problem) for p in raised.value.problems), raised.value.problems


def test_a_local_http_webhook_is_for_tests_only_never_production() -> None:
    local = "http://127.0.0.1:8123/services/x"
    assert Settings.from_env({"ENV": "test", "SLACK_WEBHOOK_URL": local}).slack_webhook_url == local
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(
            {"ENV": "production", "SLACK_WEBHOOK_URL": local, "AGENT_SECRET": "a" * 20, "API_SECRET": "b" * 40}
        )
    assert raised.value.problems == [
        "SLACK_WEBHOOK_URL must be an https:// URL (http:// only to 127.0.0.1, ::1 or localhost, and never with "
        "ENV=production)"
    ]
    assert Settings.from_env({"SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T/B/x"}).slack_webhook_url
