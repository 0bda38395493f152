"""``restosync_http.slow_clients``: uvicorn in this process, deadlines of 0.3 s, and raw sockets."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from restosync_http.slow_clients import with_deadlines
from tests.e2e.conftest import free_port
from tests.waiting import wait_until


async def echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body, more = b"", True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        body, more = body + message.get("body", b""), message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"%d" % len(body))]})
    await send({"type": "http.response.body", "body": body})


@pytest.fixture
def port() -> Iterator[int]:
    chosen = free_port()
    config = uvicorn.Config(echo, host="127.0.0.1", port=chosen, loop="asyncio", lifespan="off", log_config=None,
                            http=with_deadlines(0.3, 0.3))
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, 10, "uvicorn to start")
    yield chosen
    server.should_exit = True
    thread.join(10)


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.settimeout(5)
    return sock


def _read_answer(sock: socket.socket) -> bytes:
    """One whole answer (its head, then ``content-length`` bytes of body), however the segments fall."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(4096)
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    length = int(next(line.split(b":")[1] for line in lines if line.lower().startswith(b"content-length")))
    while len(body) < length:
        body += sock.recv(4096)
    return head + b"\r\n\r\n" + body


def _read_all(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(4096):
        data += chunk
    return data


def test_headers_not_in_within_the_deadline_get_408_and_the_connection_closes(port: int) -> None:
    with _connect(port) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n")  # and never the rest
        answer = _read_all(sock)
    assert answer.startswith(b"HTTP/1.1 408 Request Timeout")
    assert answer.endswith(b"the request's headers took more than 0.3 s (HTTP_HEADERS_TIMEOUT_SECONDS)")


def test_a_body_not_in_within_the_deadline_closes_the_connection_without_an_answer(port: int) -> None:
    with _connect(port) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n12345")
        assert _read_all(sock) == b""


def test_requests_in_time_are_answered_each_with_its_own_deadline_on_a_kept_alive_connection(port: int) -> None:
    with _connect(port) as sock:
        for body in (b"first", b"second"):
            sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
            answer = _read_answer(sock)
            assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(body)
            threading.Event().wait(0.2)  # idle between requests: within the keep-alive, less than a deadline
        sock.sendall(b"GET / HTTP/1.1\r\n")  # a third, too slow: cut by its own deadline
        assert _read_all(sock).startswith(b"HTTP/1.1 408")
