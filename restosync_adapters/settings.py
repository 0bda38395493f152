"""Settings: the environment decoded into one typed object, every problem named at once."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import urlsplit

from restosync_core.policies.agent_url import (
    DEFAULT_DENIED_NETWORKS,
    PRODUCTION_DENIED_NETWORKS,
    AgentUrlPolicy,
    Network,
    parse_networks,
)

DEV_AGENT_SECRET = "dev-only-agent-secret-not-for-production"  # noqa: S105 - marked, refused in production
DEV_API_SECRET = "dev-only-api-secret-not-for-production-000"  # noqa: S105 - marked, refused in production
MIN_API_SECRET_LENGTH = 32
MIN_METRICS_TOKEN_LENGTH = 16


class SettingsError(Exception):
    """The environment cannot start restosync; the message names every problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"restosync cannot start: {len(problems)} configuration problem(s):\n{lines}")


def _env(name: str, default: Any, parse: Callable[[str], Any] = str, *, doc: str = "") -> Any:
    return field(default=default, metadata={"env": name, "parse": parse, "doc": doc})


def _bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("expected true or false")


def _int(raw: str) -> int:
    try:
        return int(raw.strip())
    except ValueError:
        raise ValueError("expected a whole number") from None


def _positive_int(raw: str) -> int:
    value = _int(raw)
    if value < 1:
        raise ValueError("must be 1 or more")
    return value


def _non_negative_int(raw: str) -> int:
    value = _int(raw)
    if value < 0:
        raise ValueError("must be 0 or more")
    return value


def _port(raw: str) -> int:
    value = _int(raw)
    if not 1 <= value <= 65535:
        raise ValueError("must be between 1 and 65535")
    return value


def _seconds_list(raw: str) -> tuple[float, ...]:
    values = tuple(float(part) for part in raw.split(",") if part.strip())
    if not values or any(v < 0 for v in values):
        raise ValueError("expected a comma-separated list of seconds >= 0")
    return values


def _int_between(low: int, high: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        value = _int(raw)
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high}")
        return value

    return parse


def _seconds_between(low: float, high: float) -> Callable[[str], float]:
    def parse(raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            raise ValueError("expected a number of seconds") from None
        if not low < value <= high:
            raise ValueError(f"must be above {low:g} and at most {high:g} seconds")
        return value

    return parse


def _fraction(raw: str) -> float:
    try:
        value = float(raw.strip())
    except ValueError:
        raise ValueError("expected a number") from None
    if not 0 < value <= 1:
        raise ValueError("must be more than 0 and at most 1 (0.05 is 5 %)")
    return value


def _cron(raw: str) -> str:
    """A cron expression as rq-scheduler reads it (5 fields, or 7 with seconds first and years last)."""
    from crontab import CronTab  # type: ignore[import-untyped]  # rq-scheduler's own parser, untyped

    value = raw.strip().strip('"')
    try:
        CronTab(value)
    except ValueError as exc:
        raise ValueError(f"expected a cron expression such as '0 2 * * *' ({exc})") from None
    return value


def _slack_url_allowed(url: str, production: bool) -> bool:
    """https, or (outside production) http to this machine: the test suite's local fake webhook."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.netloc:
        return True
    return not production and parts.scheme == "http" and parts.hostname in ("127.0.0.1", "::1", "localhost")


def _positive_float(raw: str) -> float:
    value = float(raw)
    if not value > 0:
        raise ValueError("must be more than 0")
    return value


def _non_negative_float(raw: str) -> float:
    value = float(raw)
    if value < 0:
        raise ValueError("must be 0 or more")
    return value


@dataclass(frozen=True, slots=True)
class Settings:
    env: str = _env("ENV", "development", doc="development | test | production")
    database_url: str = _env("DATABASE_URL", "postgresql://root@127.0.0.1:5432/restosync")
    redis_url: str = _env("REDIS_URL", "redis://127.0.0.1:6379/0")
    redis_prefix: str = _env("REDIS_PREFIX", "restosync", doc="namespace of every Redis key and RQ queue")
    agent_secret: str = _env("AGENT_SECRET", DEV_AGENT_SECRET)
    api_secret: str = _env("API_SECRET", DEV_API_SECRET)
    slack_webhook_url: str | None = _env("SLACK_WEBHOOK_URL", None)
    db_pool_size: int = _env("DB_POOL_SIZE", 20, _positive_int)
    worker_concurrency: int = _env("WORKER_CONCURRENCY", 5, _positive_int)
    swagger_enabled: bool = _env("SWAGGER_ENABLED", False, _bool)
    frontend_url: str = _env("FRONTEND_URL", "http://localhost:3000")
    base_url: str = _env("BASE_URL", "http://localhost:8000")
    host: str = _env("HOST", "127.0.0.1")
    port: int = _env("PORT", 8000, _port)
    log_level: str = _env("LOG_LEVEL", "INFO")
    disk_min_free_mb: int = _env("DISK_MIN_FREE_MB", 512, _positive_int)
    memory_max_rss_mb: int = _env("MEMORY_MAX_RSS_MB", 1024, _positive_int)
    http_headers_timeout_seconds: float = _env(
        "HTTP_HEADERS_TIMEOUT_SECONDS", 10.0, _positive_float,
        doc="a request whose headers are not all in by then is answered 408 and its connection closed",
    )
    http_body_timeout_seconds: float = _env(
        "HTTP_BODY_TIMEOUT_SECONDS", 30.0, _positive_float,
        doc="a request whose body is not all in by then (after its headers) has its connection closed",
    )
    # Rate limits, requests per minute (REQ-3, REQ-13).
    rate_limit_global: int = _env("RATE_LIMIT_GLOBAL_PER_MIN", 120, _positive_int)
    rate_limit_register: int = _env("RATE_LIMIT_REGISTER_PER_MIN", 10, _positive_int)
    rate_limit_heartbeat: int = _env("RATE_LIMIT_HEARTBEAT_PER_MIN", 120, _positive_int)
    rate_limit_admin: int = _env("RATE_LIMIT_ADMIN_PER_MIN", 30, _positive_int)
    rate_limit_sync: int = _env("RATE_LIMIT_SYNC_PER_MIN", 60, _positive_int)
    rate_limit_sync_batch: int = _env("RATE_LIMIT_SYNC_BATCH_PER_MIN", 10, _positive_int)
    rate_limit_callback: int = _env(
        "RATE_LIMIT_CALLBACK_PER_MIN", 600, _positive_int,
        doc="order callbacks per agent (about 10 a second: a burst of orders confirmed at once)",
    )
    rate_limits_enabled: bool = _env("RATE_LIMITS_ENABLED", True, _bool)
    auth_failures_per_ip: int = _env(
        "AUTH_FAILURES_PER_IP", 20, _positive_int,
        doc="failed authentications from one address in the window before it gets 429 on every route",
    )
    auth_failures_per_vendor: int = _env(
        "AUTH_FAILURES_PER_VENDOR", 50, _positive_int,
        doc="failed agent authentications naming one vendor in the window before its uncached tokens get 429",
    )
    auth_failure_window_seconds: int = _env("AUTH_FAILURE_WINDOW_SECONDS", 300, _positive_int)
    # --- agents
    agent_token_cache_ttl: int = _env(
        "AGENT_TOKEN_CACHE_TTL_SECONDS", 300, _positive_int,
        doc="how long a bcrypt-verified agent token is recognised without bcrypt (revocation is immediate)",
    )
    agent_heartbeat_flush_seconds: float = _env(
        "AGENT_HEARTBEAT_FLUSH_SECONDS", 1.0, _non_negative_float,
        doc="heartbeats are written in one batch per interval per API process; 0 writes each one at once",
    )
    agent_url_denied_networks: tuple[Network, ...] | None = _env(
        "AGENT_URL_DENIED_NETWORKS", None, parse_networks,
        doc="CIDR networks an agentUrl may not point at (checked at registration and again, resolved, "
        "before each connection); 'none' denies nothing. Unset: link-local, cloud metadata, unspecified, "
        "multicast and broadcast, plus loopback and private ranges when ENV=production",
    )
    # --- mappings: ERP code resolution cache and admin seed (REQ-4).
    mapping_cache_ttl_seconds: int = _env("MAPPING_CACHE_TTL_SECONDS", 300, _positive_int)
    mapping_cache_max_entries: int = _env("MAPPING_CACHE_MAX_ENTRIES", 10_000, _positive_int)
    mapping_cache_redis_retry_seconds: float = _env(
        "MAPPING_CACHE_REDIS_RETRY_SECONDS", 1.0, _non_negative_float,
        doc="while Redis is down, resolve from the database alone and retry Redis after this long",
    )
    mapping_seed_max_rows: int = _env("MAPPING_SEED_MAX_ROWS", 5000, _positive_int)
    # --- ingest
    ingest_chunk_size: int = _env(
        "INGEST_CHUNK_SIZE", 1000, _positive_int,
        doc="rows per upsert statement when a push is written (see docs/performance.md)",
    )
    # --- orders: delivery to agents (REQ-6, REQ-7); see docs/orders.md
    order_max_attempts: int = _env("ORDER_MAX_ATTEMPTS", 5, _positive_int, doc="deliveries before a dead letter")
    order_retry_delays: tuple[float, ...] = _env(
        "ORDER_RETRY_DELAYS_SECONDS", (60.0, 120.0, 240.0, 480.0, 960.0), _seconds_list,
        doc="wait after the 1st, 2nd ... failed delivery (the last repeats)",
    )
    order_claim_seconds: float = _env(
        "ORDER_CLAIM_SECONDS", 90.0, _non_negative_float,
        doc="a worker's claim on a job; past it another worker takes over (must exceed the agent timeout)",
    )
    order_callback_timeout_seconds: float = _env(
        "ORDER_CALLBACK_TIMEOUT_SECONDS", 600.0, _non_negative_float,
        doc="an accepted delivery with no callback after this long is delivered again (same idempotency key)",
    )
    agent_timeout_seconds: float = _env("AGENT_TIMEOUT_SECONDS", 30.0, _non_negative_float)
    breaker_error_threshold_percent: float = _env("BREAKER_ERROR_THRESHOLD_PERCENT", 50.0, _non_negative_float)
    breaker_volume_threshold: int = _env("BREAKER_VOLUME_THRESHOLD", 5, _positive_int)
    breaker_reset_timeout_seconds: float = _env("BREAKER_RESET_TIMEOUT_SECONDS", 60.0, _non_negative_float)
    breaker_window_seconds: float = _env("BREAKER_WINDOW_SECONDS", 10.0, _non_negative_float)
    breaker_state_refresh_ms: int = _env(
        "BREAKER_STATE_REFRESH_MS", 250, _non_negative_int,
        doc="a process trusts a 'closed' breaker state it read from Redis this long before reading it again",
    )
    sweep_cron: str = _env("SWEEP_CRON", "* * * * *", _cron, doc="when the scheduler runs the sync-job sweeper")
    # --- scheduled maintenance, retention and alerts (REQ-10); see docs/operations.md
    drift_detection_cron: str = _env("DRIFT_DETECTION_CRON", "0 * * * *", _cron, doc="drift detection (hourly)")
    agent_health_cron: str = _env("AGENT_HEALTH_CRON", "*/5 * * * *", _cron, doc="the agent health check")
    dlq_alert_cron: str = _env("DLQ_ALERT_CRON", "*/15 * * * *", _cron, doc="the unresolved dead letters alert")
    job_cleanup_cron: str = _env("JOB_CLEANUP_CRON", "0 2 * * *", _cron, doc="expired sync jobs cleanup")
    reconciliation_archive_cron: str = _env(
        "RECONCILIATION_ARCHIVE_CRON", "0 3 * * 0", _cron,
        doc="old reconciliation events and finished runs removed (Sundays)",
    )
    dlq_cleanup_cron: str = _env("DLQ_CLEANUP_CRON", "0 4 * * 6", _cron, doc="old resolved dead letters removed")
    retention_completed_jobs_hours: int = _env(
        "RETENTION_COMPLETED_JOBS_HOURS", 24, _int_between(1, 8760), doc="completed sync jobs are kept this long"
    )
    retention_failed_jobs_days: int = _env(
        "RETENTION_FAILED_JOBS_DAYS", 7, _int_between(1, 3650),
        doc="failed sync jobs are kept this long (their dead letters stay and can still be retried)",
    )
    retention_resolved_dlq_days: int = _env(
        "RETENTION_RESOLVED_DLQ_DAYS", 30, _int_between(1, 3650), doc="resolved dead letters are kept this long"
    )
    retention_reconciliation_events_days: int = _env(
        "RETENTION_RECONCILIATION_EVENTS_DAYS", 30, _int_between(1, 3650),
        doc="reconciliation events, and finished reconciliation runs, are kept this long",
    )
    undelivered_job_max_hours: int = _env(
        "UNDELIVERED_JOB_MAX_HOURS", 24, _int_between(1, 8760),
        doc="a sync job still undelivered this long after it was placed (or retried) becomes a dead letter",
    )
    retention_chunk_size: int = _env(
        "RETENTION_CHUNK_SIZE", 1000, _int_between(1, 100_000), doc="rows per retention delete statement"
    )
    alert_dedup_window_seconds: int = _env(
        "ALERT_DEDUP_WINDOW_SECONDS", 3600, _int_between(1, 604_800),
        doc="an alert (type, vendor) is told to Slack at most once per this many seconds",
    )
    slack_timeout_seconds: float = _env(
        "SLACK_TIMEOUT_SECONDS", 5.0, _seconds_between(0, 30), doc="timeout of one post to the Slack webhook"
    )
    # --- reconciliation (REQ-9); see docs/reconciliation.md
    reconciliation_leaf_rows: int = _env(
        "RECONCILIATION_LEAF_ROWS", 16, _int_between(1, 1000),
        doc="a differing range with at most this many rows on either side is fetched and compared row by row",
    )
    reconciliation_max_change_share: float = _env(
        "RECONCILIATION_MAX_CHANGE_SHARE", 0.05, _fraction,
        doc="blast radius: a run that would change more than this share of a vendor's rows changes nothing, "
        "alerts, and waits for an admin's confirm",
    )
    reconciliation_max_change_min_rows: int = _env(
        "RECONCILIATION_MAX_CHANGE_MIN_ROWS", 10, _int_between(0, 1_000_000),
        doc="blast radius floor: a run may always change this many rows (small catalogues)",
    )
    reconciliation_max_agent_calls: int = _env(
        "RECONCILIATION_MAX_AGENT_CALLS", 2000, _int_between(10, 1_000_000),
        doc="a run that needs more agent calls than this (per entity) fails and changes nothing",
    )
    reconciliation_parallel_calls: int = _env(
        "RECONCILIATION_PARALLEL_CALLS", 4, _int_between(1, 64),
        doc="agent calls one run makes at once",
    )
    reconciliation_job_timeout_seconds: int = _env(
        "RECONCILIATION_JOB_TIMEOUT_SECONDS", 1800, _int_between(60, 86_400),
        doc="a run still going after this long is stopped by its worker (RQ's job timeout)",
    )
    reconciliation_worker_concurrency: int = _env(
        "RECONCILIATION_WORKER_CONCURRENCY", 2, _positive_int,
        doc="reconciliation worker processes `restosync run` starts, apart from the order workers",
    )
    # --- Prometheus (GET /metrics); see docs/prometheus-metrics.md
    metrics_dir: str | None = _env(
        "METRICS_DIR", None,
        doc="directory (absolute path, of its own) where every API and worker process records its metrics for "
        "GET /metrics to sum; unset: each process keeps its own in memory. `restosync run` makes a temporary "
        "one when unset, and empties it at start",
    )
    metrics_token: str = _env(
        "METRICS_TOKEN", "",
        doc="a bearer token (>= 16 characters) that may read GET /metrics besides the admin key; empty: only the "
        "admin key",
    )
    worker_synchronous_commit: bool = _env(
        "WORKER_SYNCHRONOUS_COMMIT", False, _bool,
        doc="workers wait for the WAL flush on commit (off: a PostgreSQL crash may undo their last writes, "
        "which are all redone: a delivery is repeated under the same Idempotency-Key)",
    )

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def denied_agent_networks(self) -> tuple[Network, ...]:
        """``AGENT_URL_DENIED_NETWORKS``, or its default for this ``ENV``."""
        if self.agent_url_denied_networks is not None:
            return self.agent_url_denied_networks
        return PRODUCTION_DENIED_NETWORKS if self.is_production else DEFAULT_DENIED_NETWORKS

    @property
    def agent_url_policy(self) -> AgentUrlPolicy:
        return AgentUrlPolicy(denied_networks=self.denied_agent_networks)

    @property
    def cors_origins(self) -> list[str]:
        return sorted({self.frontend_url.rstrip("/"), self.base_url.rstrip("/")})

    @property
    def uses_dev_secrets(self) -> bool:
        return self.agent_secret == DEV_AGENT_SECRET or self.api_secret == DEV_API_SECRET

    @classmethod
    def load_or_exit(cls) -> Settings:
        """Every entry point starts here: the environment's settings, or every problem on stderr and exit 2."""
        try:
            return cls.from_env()
        except SettingsError as exc:
            print(exc, file=sys.stderr)
            raise SystemExit(2) from None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Decode ``environ`` (default: ``os.environ``); raise SettingsError naming every problem."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        problems: list[str] = []
        for f in fields(cls):
            name, parse = f.metadata["env"], f.metadata["parse"]
            raw = environ.get(name)
            if raw is None or (raw == "" and f.default is None):
                continue
            try:
                values[f.name] = parse(raw)
            except ValueError as exc:
                problems.append(f"{name}={raw!r} is invalid: {exc}")
        settings = cls(**values)
        problems.extend(settings._problems())
        if problems:
            raise SettingsError(problems)
        return settings

    def _problems(self) -> list[str]:
        problems: list[str] = []
        if self.env not in ("development", "test", "production"):
            problems.append(f"ENV={self.env!r} is invalid: expected development, test or production")
        if urlsplit(self.database_url).scheme not in ("postgresql", "postgres"):
            problems.append("DATABASE_URL must be a postgresql:// URL")
        if urlsplit(self.redis_url).scheme not in ("redis", "rediss", "unix"):
            problems.append("REDIS_URL must be a redis:// URL")
        if len(self.api_secret) < MIN_API_SECRET_LENGTH:
            problems.append(f"API_SECRET must be at least {MIN_API_SECRET_LENGTH} characters")
        if len(self.agent_secret) < 16:
            problems.append("AGENT_SECRET must be at least 16 characters")
        for name, url in (("FRONTEND_URL", self.frontend_url), ("BASE_URL", self.base_url)):
            if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
                problems.append(f"{name}={url!r} is invalid: expected an http(s) URL")
        if self.slack_webhook_url and not _slack_url_allowed(self.slack_webhook_url, self.is_production):
            problems.append(
                "SLACK_WEBHOOK_URL must be an https:// URL (http:// only to 127.0.0.1, ::1 or localhost, "
                "and never with ENV=production)"
            )
        if self.order_claim_seconds <= self.agent_timeout_seconds:
            problems.append(
                "ORDER_CLAIM_SECONDS must exceed AGENT_TIMEOUT_SECONDS (a claim must outlive the call it covers)"
            )
        if self.metrics_dir is not None and not os.path.isabs(self.metrics_dir):
            problems.append(f"METRICS_DIR={self.metrics_dir!r} is invalid: expected an absolute path")
        if self.metrics_token and len(self.metrics_token) < MIN_METRICS_TOKEN_LENGTH:
            problems.append(f"METRICS_TOKEN must be at least {MIN_METRICS_TOKEN_LENGTH} characters when set")
        if self.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            problems.append(f"LOG_LEVEL={self.log_level!r} is invalid: expected DEBUG, INFO, WARNING or ERROR")
        if self.is_production:
            if self.agent_secret == DEV_AGENT_SECRET:
                problems.append("AGENT_SECRET must be set in production (the development secret is refused)")
            if self.api_secret == DEV_API_SECRET:
                problems.append("API_SECRET must be set in production (the development secret is refused)")
            if self.swagger_enabled:
                pass  # allowed, but the operator asked for it explicitly
        return problems


def describe() -> list[tuple[str, str, str]]:
    """(variable, default, doc) for every setting, for docs and ``restosync config``."""
    return [
        (f.metadata["env"], "" if f.default is None else str(f.default), f.metadata["doc"])
        for f in fields(Settings)
    ]
