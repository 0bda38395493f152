"""A fake ERP agent: a real HTTP server that accepts, fails, hangs or is down, and calls back.

    agent = FakeAgent().start()            # listens on 127.0.0.1:<free port>
    agent.url                              # register this as the vendor's agentUrl
    agent.fail_with(503) / agent.hang() / agent.down() / agent.up() / agent.accept()
    agent.requests                         # what it received (headers + JSON body), in order
    agent.callbacks_to(api_url, vendor_id, token)   # answer each accepted order with a callback

Like a well-behaved agent, it keeps one ERP order per ``Idempotency-Key``: a
delivery repeated with the same key gets the same ERP reference, never a second
order. It is also a command (``python -m tests.fake_agent --port N``) for runs
by hand and the bench.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    at: float = field(default_factory=time.perf_counter)

    @property
    def idempotency_key(self) -> str | None:
        return self.headers.get("idempotency-key")


class FakeAgent:
    def __init__(self, port: int = 0, *, answer_delay: float = 0.0) -> None:
        self.port = port
        self.answer_delay = answer_delay
        self.mode = "accept"
        self.status = 200
        self.requests: list[Received] = []
        self.erp_orders: dict[str, str] = {}
        """Idempotency-Key -> ERP reference: what the 'ERP' holds."""
        self.callback_errors: list[str] = []
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._callback: tuple[str, str, str] | None = None
        self.callbacks_paused = False
        """While True, accepted orders get no callback (as if the agent crashed after accepting)."""
        self._http = httpx.Client(timeout=10.0)
        self._callback_threads: list[threading.Thread] = []

    # ------------------------------------------------------------------ control
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeAgent:
        self.up()
        return self

    def up(self) -> None:
        if self._server is not None:
            return
        handler = _handler_for(self)
        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def down(self) -> None:
        """Stop listening: calls are refused at the TCP level."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def accept(self) -> None:
        self.mode, self.status = "accept", 200
        self._release.set()

    def fail_with(self, status: int) -> None:
        self.mode, self.status = "fail", status

    def hang(self) -> None:
        """Hold every call open until ``accept()`` (or the caller's timeout)."""
        self._release.clear()
        self.mode = "hang"

    def callbacks_to(self, api_url: str, vendor_id: str, token: str) -> None:
        """After accepting an order, report it completed on ``POST /api/agents/callback``."""
        self._callback = (api_url.rstrip("/"), vendor_id, token)

    def stop(self) -> None:
        self._release.set()
        self.down()
        for t in self._callback_threads:
            t.join(timeout=5)
        self._http.close()

    def orders_received(self) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if r.path == "/sync/create-order"]

    def send_callback(self, job_id: str, status: str = "completed", erp_reference: str | None = None,
                      error: str | None = None) -> httpx.Response:
        assert self._callback is not None, "call callbacks_to(...) first"
        api_url, vendor_id, token = self._callback
        body: dict[str, Any] = {"jobId": job_id, "status": status}
        if erp_reference is not None:
            body["erpReference"] = erp_reference
        if error is not None:
            body["error"] = error
        return self._http.post(
            f"{api_url}/api/agents/callback",
            json=body,
            headers={"Authorization": f"Bearer {token}", "X-Vendor-ID": vendor_id},
        )

    # ------------------------------------------------------------------ behaviour
    def _handle(self, path: str, headers: dict[str, str], body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.requests.append(Received(path, headers, body))
        call_back = self._callback is not None and not self.callbacks_paused  # decided on arrival
        if self.mode == "hang":
            self._release.wait(timeout=120)
        if self.answer_delay:
            time.sleep(self.answer_delay)
        if self.mode == "fail":
            return self.status, {"error": "the fake agent was told to fail"}
        key = headers.get("idempotency-key") or body.get("jobId", "")
        with self._lock:
            reference = self.erp_orders.setdefault(key, f"ERP-{key[:8]}")
        if call_back and path == "/sync/create-order":
            t = threading.Thread(target=self._call_back, args=(str(body.get("jobId")), reference), daemon=True)
            self._callback_threads.append(t)
            t.start()
        return 202, {"accepted": True, "erpReference": reference}

    def _call_back(self, job_id: str, reference: str) -> None:
        try:
            response = self.send_callback(job_id, "completed", reference)
            if response.status_code != 200:
                self.callback_errors.append(f"{response.status_code} {response.text[:200]}")
        except httpx.HTTPError as exc:
            self.callback_errors.append(repr(exc))


def _handler_for(agent: FakeAgent) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b"{}"
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = {}
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, answer = agent._handle(self.path, headers, body)
            data = json.dumps(answer).encode()
            try:
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                pass  # the caller gave up (timeout) before the answer

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="a fake ERP agent that accepts every order")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--api-url", default=None, help="send completed callbacks to this API")
    parser.add_argument("--vendor-id", default=None)
    parser.add_argument("--token", default=None)
    args = parser.parse_args(argv)
    agent = FakeAgent(args.port).start()
    if args.api_url:
        agent.callbacks_to(args.api_url, args.vendor_id, args.token)
    print(agent.url, flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        threading.Event().wait()
    agent.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
