"""A client that sends its headers or its body slowly is cut off; the API keeps answering everyone else.

The real API process (uvicorn, the deadline protocol of ``restosync_http.slow_clients``)
with 1-second deadlines, 200 clients trickling one byte at a time, and a normal client.
"""

from __future__ import annotations

import selectors
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from restosync_adapters.settings import Settings
from tests.conftest import process_env
from tests.e2e.conftest import free_port
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
SLOW_CLIENTS = 200
HEAD = b"POST /api/agents/heartbeat HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Vendor-ID: v\r\nContent-Length: 10\r\n"


@pytest.fixture
def api(settings: Settings) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "restosync_cli", "api"], cwd=ROOT,
        env=process_env(settings, PORT=str(port), HTTP_HEADERS_TIMEOUT_SECONDS="1", HTTP_BODY_TIMEOUT_SECONDS="1",
                        RATE_LIMITS_ENABLED="false"),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: httpx.get(f"{base}/health").status_code == 200, 60, "the API to answer /health",
                   ignoring=(httpx.HTTPError,))
        yield base, proc
    finally:
        proc.terminate()
        proc.wait(30)


def _trickle(port: int, data: bytes, clients: int, seconds: float) -> tuple[int, list[bytes]]:
    """Open ``clients`` connections and send ``data`` to each a byte at a time, 4 bytes a second, for at most
    ``seconds``. Answers how many the server closed, and what it answered them."""
    selector = selectors.DefaultSelector()
    socks = []
    for _ in range(clients):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ)
        socks.append(sock)
    sent, closed, answers = 0, set(), []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and len(closed) < clients:
        if sent < len(data):
            for sock in socks:
                if sock not in closed:
                    try:
                        sock.send(data[sent:sent + 1])
                    except OSError:
                        closed.add(sock)
            sent += 1
        for key, _ in selector.select(timeout=0.25):
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            try:
                chunk = sock.recv(4096)
            except OSError:
                chunk = b""
            if chunk:
                answers.append(chunk)
            else:  # the server closed it
                closed.add(sock)
                selector.unregister(sock)
    for sock in socks:
        sock.close()
    return len(closed), answers


def test_slow_headers_are_answered_408_and_closed_while_a_normal_client_is_served(
    api: tuple[str, subprocess.Popen[str]],
) -> None:
    base, _ = api
    port = int(base.rsplit(":", 1)[1])
    served: list[int] = []

    def normal_client() -> None:
        with httpx.Client(base_url=base, timeout=5) as http:
            for _ in range(10):
                served.append(http.get("/health").status_code)
                threading.Event().wait(0.2)

    normal = threading.Thread(target=normal_client)
    normal.start()
    closed, answers = _trickle(port, HEAD, SLOW_CLIENTS, seconds=15)
    normal.join(30)
    assert served == [200] * 10  # answered all along
    assert closed == SLOW_CLIENTS, f"{SLOW_CLIENTS - closed} slow clients still connected"
    assert len(HEAD) / 4 > 5  # they would have needed more than 5 s: cut at 1 s
    assert answers and all(a.startswith(b"HTTP/1.1 408 Request Timeout") for a in answers), answers[:3]
    assert b"HTTP_HEADERS_TIMEOUT_SECONDS" in answers[0]


def test_a_slow_body_is_cut_off_and_nothing_of_it_is_handled(
    api: tuple[str, subprocess.Popen[str]], settings: Settings
) -> None:
    base, _ = api
    port = int(base.rsplit(":", 1)[1])
    sock = socket.create_connection(("127.0.0.1", port))
    head = (f"POST /api/agents/register HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {settings.agent_secret}"
            "\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{").encode()
    sock.sendall(head)  # authorised headers, then 1 of the 100 bytes of the body
    sock.settimeout(10)
    began = time.monotonic()
    assert sock.recv(4096) == b""  # closed without an answer (no handler ran: the body never completed)
    assert time.monotonic() - began < 8
    sock.close()
    with httpx.Client(base_url=base, timeout=5) as http:
        assert http.get("/health").status_code == 200
        assert http.get("/api/admin/agents", headers={"X-API-Key": settings.api_secret}).json()["data"] == []
