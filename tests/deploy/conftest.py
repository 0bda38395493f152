"""Deployment tests: the built wheel, the container files, blue-green, several processes at once."""

from __future__ import annotations

import os
from pathlib import Path

from restosync_adapters.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def process_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of a restosync process on ``settings``' database and Redis key space."""
    return {
        **os.environ,
        "ENV": "test",
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "REDIS_PREFIX": settings.redis_prefix,
        "API_SECRET": settings.api_secret,
        "AGENT_SECRET": settings.agent_secret,
        "DB_POOL_SIZE": "2",
        "WORKER_CONCURRENCY": "1",
        "LOG_LEVEL": "INFO",
        **extra,
    }
