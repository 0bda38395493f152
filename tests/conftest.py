"""Shared fixtures: a PostgreSQL database and a Redis key space of this test run's own.

Each pytest run creates ``restosync_test_<random>`` (migrated once) and uses the
Redis prefix ``restosync-test-<random>``; both are dropped at the end. Tests never
touch data they did not create.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import redis
from psycopg import sql

from restosync_adapters.postgres.migrate import migrate
from restosync_adapters.settings import Settings
from tests.fake_agent import FakeAgent

ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql://root@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
RUN_ID = uuid.uuid4().hex[:10]


def _url_for(dbname: str) -> str:
    parts = urlsplit(ADMIN_URL)
    return urlunsplit((parts.scheme, parts.netloc, f"/{dbname}", parts.query, ""))


def create_database(name: str) -> str:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return _url_for(name)


def drop_database(name: str) -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def delete_redis_prefix(prefix: str) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    for pattern in (f"{prefix}*", f"rq:*{prefix}*"):
        batch = list(client.scan_iter(match=pattern, count=1000))
        if batch:
            client.delete(*batch)
    client.close()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A migrated database for this test run."""
    name = f"restosync_test_{RUN_ID}"
    url = create_database(name)
    migrate(url)
    yield url
    drop_database(name)


@pytest.fixture(scope="session")
def redis_prefix() -> Iterator[str]:
    prefix = f"restosync-test-{RUN_ID}"
    yield prefix
    delete_redis_prefix(prefix)


_TABLES = None


@pytest.fixture
def clean_db(pg_url: str) -> str:
    """Empty every table (the schema stays) so each test starts from nothing."""
    global _TABLES
    with psycopg.connect(pg_url, autocommit=True) as conn:
        if _TABLES is None:
            rows = conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations'"
            ).fetchall()
            _TABLES = [r[0] for r in rows]
        if _TABLES:
            conn.execute(
                sql.SQL("TRUNCATE {} CASCADE").format(sql.SQL(", ").join(map(sql.Identifier, _TABLES)))
            )
    return pg_url


@pytest.fixture
def redis_ns(redis_prefix: str) -> Iterator[str]:
    """A Redis prefix of this test's own, emptied afterwards."""
    prefix = f"{redis_prefix}-{uuid.uuid4().hex[:8]}"
    yield prefix
    delete_redis_prefix(prefix)


def make_settings(pg_url: str, prefix: str, **env: str) -> Settings:
    base = {
        "ENV": "test",
        "DATABASE_URL": pg_url,
        "REDIS_URL": REDIS_URL,
        "REDIS_PREFIX": prefix,
        "DB_POOL_SIZE": "4",
        "AGENT_SECRET": "test-agent-secret-0123456789",
        "API_SECRET": "test-api-secret-0123456789-0123456789",
    }
    base.update(env)
    return Settings.from_env(base)


def process_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of a restosync process (API, worker ...) on ``settings``' database and Redis key space."""
    return {
        **os.environ,
        "ENV": "test",
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "REDIS_PREFIX": settings.redis_prefix,
        "API_SECRET": settings.api_secret,
        "AGENT_SECRET": settings.agent_secret,
        "DB_POOL_SIZE": "2",
        **extra,
    }


@pytest.fixture
def settings(clean_db: str, redis_ns: str) -> Settings:
    return make_settings(clean_db, redis_ns)


@pytest.fixture
def agent() -> Iterator[FakeAgent]:
    """A fake agent over real HTTP on a free local port (a folder's conftest or module may define its own)."""
    fake = FakeAgent().start()
    yield fake
    fake.stop()
