"""Maintenance fixtures: a fake Slack webhook (a real local HTTP server) and SQL to age rows."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

# The order-delivery fixtures (fast retries, a fake agent over HTTP, an in-process worker) for the retry test.
from tests.integration.orders.conftest import api, order_settings, worker  # noqa: F401


class FakeSlack:
    """Slack's incoming webhook on 127.0.0.1: records each JSON body; ``answer(500)`` or ``hang()`` to misbehave.

    A hanging request waits until ``release()`` (or the server stops); ``in_flight`` counts requests received
    but not answered yet.
    """

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.status = 200
        self.hanging = False
        self.in_flight = 0
        self._released = threading.Event()
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with fake._lock:
                    fake.messages.append(body)
                    fake.in_flight += 1
                if fake.hanging:
                    fake._released.wait(30)
                with fake._lock:
                    fake.in_flight -= 1
                self.send_response(fake.status)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                with contextlib.suppress(OSError):  # the client may have given up (its timeout)
                    self.wfile.write(b"ok" if fake.status == 200 else b"error")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/services/T000/B000/secret"

    def texts(self) -> list[str]:
        with self._lock:
            return [m["text"] for m in self.messages]

    def answer(self, status: int) -> None:
        self.status = status

    def hang(self) -> None:
        self.hanging = True
        self._released.clear()

    def release(self) -> None:
        self.hanging = False
        self._released.set()

    def start(self) -> FakeSlack:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    fake = FakeSlack().start()
    yield fake
    fake.stop()
