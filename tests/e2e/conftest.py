"""End-to-end helpers: real processes, real ports, polled with deadlines."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, TypeVar

import pytest

from tests import waiting

if TYPE_CHECKING:
    from tests.e2e.system import RedisServer

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(check: Callable[[], T], seconds: float, what: str) -> T:
    """``tests.waiting.wait_until`` where a check may fail while a process starts or restarts."""
    return waiting.wait_until(check, seconds, what, ignoring=(Exception,), every=0.1)


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A redis-server of the test's own on a free port, which the test may stop and start."""
    from tests.e2e.system import RedisServer  # system.py builds on the helpers above

    server = RedisServer().start()
    yield server
    server.stop()
