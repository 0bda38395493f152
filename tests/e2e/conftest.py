"""End-to-end helpers: real processes, real ports, polled with deadlines."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import TypeVar

from tests import waiting

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(check: Callable[[], T], seconds: float, what: str) -> T:
    """``tests.waiting.wait_until`` where a check may fail while a process starts or restarts."""
    return waiting.wait_until(check, seconds, what, ignoring=(Exception,), every=0.1)
