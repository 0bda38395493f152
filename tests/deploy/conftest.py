"""Deployment tests: the built wheel, the container files, blue-green, several processes at once."""

from __future__ import annotations

from pathlib import Path

from restosync_adapters.settings import Settings
from tests.conftest import process_env as base_process_env

ROOT = Path(__file__).resolve().parents[2]


def process_env(settings: Settings, **extra: str) -> dict[str, str]:
    """``tests.conftest.process_env`` with one worker process and INFO logs (what these tests read)."""
    return base_process_env(settings, **{"WORKER_CONCURRENCY": "1", "LOG_LEVEL": "INFO", **extra})
