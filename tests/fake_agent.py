"""A fake ERP agent: a real HTTP server that accepts, fails, hangs or is down, and calls back.

    agent = FakeAgent().start()            # listens on 127.0.0.1:<free port>
    agent.url                              # register this as the vendor's agentUrl
    agent.fail_with(503) / agent.hang() / agent.down() / agent.up() / agent.accept()
    agent.requests                         # what it received (headers + JSON body), in order
    agent.callbacks_to(api_url, vendor_id, token)   # answer each accepted order with a callback
    FakeAgent(erp=erp)                     # answers reconciliation from an ErpSimulator
    agent.tamper = lambda path, answer: {...}       # rewrite a reconciliation answer (protocol violations)
    agent.trust(registration_answer["outbound"])    # the credential restosync's calls must carry
    agent.rejections                       # calls refused with 401: (request, reason)

Every call must be signed (docs/agent-protocol.md#signed-requests-restosync--agent):
it is checked with the page's own verification snippet (``tests.agent_signature``)
against the outbound credentials it was told to ``trust`` (one per vendor it
serves), and refused with 401 otherwise: a call it cannot verify never becomes an
order or an answer. ``clock`` (default ``time.time``) is the agent's clock.

Like a well-behaved agent, it keeps one ERP order per ``Idempotency-Key``: a
delivery repeated with the same key gets the same ERP reference, never a second
order. It answers the reconciliation calls (``GET /sync/checksum``,
``/sync/items``, ``/sync/stock``) from its ``erp`` exactly as
docs/agent-protocol.md#reconciliation-restosync--agent says: parameters and
defaults, a 400 problem naming the limit for a bad one. ``fail_with``,
``hang`` and ``down`` apply to those calls too. It is also a command
(``python -m tests.fake_agent --port N``) for runs by hand and the bench.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from restosync_core.errors import ValidationFailed
from restosync_core.model.agents import AgentEndpoint, OutboundCredential
from restosync_core.model.catalog import Item, StockLevel
from restosync_core.policies.reconciliation import POSITION_SPACE, PositionRange, check_parts
from tests.agent_signature import InvalidRequest, verify_request
from tests.erp_simulator import ErpSimulator, item_json, stock_json

RECONCILIATION_PATHS = ("/sync/checksum", "/sync/items", "/sync/stock")
_DIGITS = re.compile(r"^[0-9]{1,20}$")


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    at: float = field(default_factory=time.perf_counter)
    wall: float = field(default_factory=time.time)

    @property
    def idempotency_key(self) -> str | None:
        return self.headers.get("idempotency-key")


class FakeAgent:
    def __init__(self, port: int = 0, *, answer_delay: float = 0.0, erp: ErpSimulator | None = None) -> None:
        self.port = port
        self.answer_delay = answer_delay
        self.erp = erp if erp is not None else ErpSimulator()
        """What the ERP holds: the reconciliation calls answer from it."""
        self.tamper: Callable[[str, dict[str, Any]], dict[str, Any]] | None = None
        """Rewrites a reconciliation answer (its path without the query, the answer) before it is sent."""
        self.mode = "accept"
        self.status = 200
        self.requests: list[Received] = []
        self.erp_orders: dict[str, str] = {}
        """Idempotency-Key -> ERP reference: what the 'ERP' holds."""
        self.callback_errors: list[str] = []
        self.callback_results: list[tuple[str, str]] = []
        """(job id, the callback's ``result``: applied | unchanged) for every callback answered 200."""
        self.callback_retry_seconds = 0.0
        """How long a callback that failed (no answer, 5xx, 429) is tried again, as a real agent would."""
        self.credentials: dict[str, str] = {}
        """Outbound token -> signing secret: whom to believe (``trust``)."""
        self.rejections: list[tuple[Received, str]] = []
        """Calls refused with 401, and why."""
        self.clock: Callable[[], float] = time.time
        self.seen_ids: dict[str, int] = {}
        self.wire: list[bytes] = []
        """Every request exactly as it arrived (request line, headers and body), verified or not."""
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._server: asyncio.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._transports: set[asyncio.Transport] = set()
        self._thread: threading.Thread | None = None
        self._callback: tuple[str, str, str] | None = None
        self.callbacks_paused = False
        self._orders = 0
        self._placeholder: socket.socket | None = None
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
        self._loop = asyncio.new_event_loop()
        ready = threading.Event()
        failed: list[BaseException] = []

        def serve() -> None:
            asyncio.set_event_loop(self._loop)
            assert self._loop is not None
            try:
                if self._placeholder is not None:  # give the port back to the server
                    self._placeholder.close()
                    self._placeholder = None
                self._server = self._loop.run_until_complete(
                    self._loop.create_server(lambda: _AgentProtocol(self), "127.0.0.1", self.port, reuse_address=True)
                )
            except BaseException as exc:
                failed.append(exc)
                ready.set()
                return
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=serve, daemon=True)
        self._thread.start()
        if not ready.wait(10) or failed:
            raise RuntimeError(f"the fake agent could not listen on port {self.port}: {failed}")

    def down(self) -> None:
        """Stop listening and drop every open connection: calls are refused at the TCP level.

        The port stays bound (a socket that does not listen: connections to it are refused),
        so that no other process on the machine takes it as an ephemeral port meanwhile and
        ``up()`` can listen on it again.
        """
        if self._server is None:
            return
        loop, server = self._loop, self._server
        assert loop is not None

        def close() -> None:
            server.close()
            placeholder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            placeholder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            placeholder.bind(("127.0.0.1", self.port))
            self._placeholder = placeholder
            for transport in list(self._transports):
                transport.abort()
            loop.call_soon(loop.stop)  # after the aborted connections' sockets are closed (also call_soon)

        loop.call_soon_threadsafe(close)
        if self._thread is not None:
            self._thread.join(10)
        loop.close()
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

    def endpoint(self, url: str | None = None) -> AgentEndpoint:
        """A fresh credential this agent trusts, with its URL (or ``url``): for a client called directly."""
        credential = OutboundCredential.issue()
        self.trust({"token": credential.token, "signingSecret": credential.signing_secret})
        return AgentEndpoint(url or self.url, credential)

    def trust(self, outbound: dict[str, str]) -> None:
        """Accept calls carrying this credential (the ``outbound`` object of a registration answer)."""
        self.credentials[outbound["token"]] = outbound["signingSecret"]

    def callbacks_to(self, api_url: str, vendor_id: str, token: str) -> None:
        """After accepting an order, report it completed on ``POST /api/agents/callback``."""
        self._callback = (api_url.rstrip("/"), vendor_id, token)

    def stop(self) -> None:
        self._release.set()
        self.down()
        if self._placeholder is not None:
            self._placeholder.close()
            self._placeholder = None
        for t in self._callback_threads:
            t.join(timeout=5)
        self._http.close()

    def orders_received(self) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if r.path == "/sync/create-order"]

    @property
    def order_count(self) -> int:
        """How many order deliveries arrived (cheap: for tight polling loops)."""
        return self._orders

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
    def _receive(self, path: str, headers: dict[str, str], body: dict[str, Any]) -> bool:
        """Record the request; whether to call back for it is decided on arrival."""
        with self._lock:
            self.requests.append(Received(path, headers, body))
            if path == "/sync/create-order":
                self._orders += 1
        return self._callback is not None and not self.callbacks_paused

    def _answers_at_once(self) -> bool:
        return self.mode != "hang" and not self.answer_delay

    def _refusal(self, path: str, headers: dict[str, str], raw: bytes) -> str | None:
        """Why the call is not verified (None: it is): the docs' snippet, with the credential its token names."""
        token = headers.get("authorization", "").removeprefix("Bearer ")
        secret = self.credentials.get(token)
        try:
            if secret is None:
                raise InvalidRequest("wrong or missing outbound token")
            payload = raw if raw else path.encode("latin-1")
            verify_request(token, secret, headers, payload, self.seen_ids, now=self.clock())
        except InvalidRequest as exc:
            return str(exc)
        return None

    def _handle_now(self, path: str, headers: dict[str, str], body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Accept or fail without waiting: answered in the read callback, no task per request."""
        return self._answer(path, headers, body, self._receive(path, headers, body))

    def _verified(self, path: str, headers: dict[str, str], body: dict[str, Any], raw: bytes) -> bool:
        reason = self._refusal(path, headers, raw)
        if reason is not None:
            with self._lock:
                self.rejections.append((Received(path, headers, body), reason))
        return reason is None

    async def _handle(self, path: str, headers: dict[str, str], body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        call_back = self._receive(path, headers, body)
        if self.mode == "hang":
            deadline = time.monotonic() + 120
            while not self._release.is_set() and time.monotonic() < deadline:  # noqa: ASYNC110 (a thread sets it)
                await asyncio.sleep(0.01)
        if self.answer_delay:
            await asyncio.sleep(self.answer_delay)
        return self._answer(path, headers, body, call_back)

    def _answer(
        self, path: str, headers: dict[str, str], body: dict[str, Any], call_back: bool
    ) -> tuple[int, dict[str, Any]]:
        if self.mode == "fail":
            return self.status, {"error": "the fake agent was told to fail"}
        route = urlsplit(path)
        if route.path in RECONCILIATION_PATHS:
            return self._reconcile(route.path, route.query)
        key = headers.get("idempotency-key") or body.get("jobId", "")
        with self._lock:
            reference = self.erp_orders.setdefault(key, f"ERP-{key[:8]}")
        if call_back and path == "/sync/create-order":
            t = threading.Thread(target=self._call_back, args=(str(body.get("jobId")), reference), daemon=True)
            self._callback_threads.append(t)
            t.start()
        return 202, {"accepted": True, "erpReference": reference}

    def _reconcile(self, path: str, query: str) -> tuple[int, dict[str, Any]]:
        """``GET /sync/checksum`` or ``/sync/items`` / ``/sync/stock`` (docs/agent-protocol.md#the-calls)."""
        params = dict(parse_qsl(query, keep_blank_values=True))
        try:
            rng = PositionRange(_integer(params, "from", 0), _integer(params, "to", POSITION_SPACE))
            if path == "/sync/checksum":
                entity = params.get("entity")
                if entity not in ("items", "stock"):
                    raise ValidationFailed(f"entity must be items or stock, not {entity!r}", path="entity")
                parts = _integer(params, "parts", 1)
                check_parts(rng, parts)
                digests = self.erp.checksums(entity, rng, parts)
                count, acc = 0, 0
                for d in digests:
                    count, acc = count + d.count, acc ^ int(d.checksum, 16)
                answer: dict[str, Any] = {
                    "entity": entity, "from": rng.start, "to": rng.end, "count": count, "checksum": f"{acc:064x}",
                    "parts": [{"count": d.count, "checksum": d.checksum} for d in digests],
                }
            elif path == "/sync/items":
                answer = {"items": [item_json(r) for r in self.erp.rows("items", rng) if isinstance(r, Item)]}
            else:
                answer = {"stock": [stock_json(r) for r in self.erp.rows("stock", rng) if isinstance(r, StockLevel)]}
        except ValidationFailed as exc:
            return 400, {"type": "https://restosync.dev/problems/validation-failed", "title": "Bad Request",
                         "status": 400, "detail": exc.message, "errors": [{"path": exc.path or "query"}]}
        return 200, self.tamper(path, answer) if self.tamper is not None else answer

    def _call_back(self, job_id: str, reference: str) -> None:
        give_up_at = time.monotonic() + self.callback_retry_seconds
        while True:
            try:
                response = self.send_callback(job_id, "completed", reference)
            except httpx.HTTPError as exc:
                error = repr(exc)
            else:
                if response.status_code == 200:
                    with self._lock:
                        self.callback_results.append((job_id, str(response.json().get("result"))))
                    return
                error = f"{response.status_code} {response.text[:200]}"
                if response.status_code < 500 and response.status_code != 429:
                    self.callback_errors.append(error)
                    return
            if time.monotonic() >= give_up_at:
                self.callback_errors.append(error)
                return
            time.sleep(0.5)


def endpoint_at(url: str) -> AgentEndpoint:
    """``url`` with a fresh credential: for a server other than a ``FakeAgent``."""
    return AgentEndpoint(url, OutboundCredential.issue())


class _AgentProtocol(asyncio.Protocol):
    """A small HTTP/1.1 server (keep-alive, Content-Length bodies): far lighter than http.server,
    so the bench measures restosync rather than its fake agent. An agent that accepts or fails
    answers in the read callback itself; one that hangs or is slowed answers from a task."""

    def __init__(self, agent: FakeAgent) -> None:
        self.agent = agent
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.agent._transports.add(transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def connection_lost(self, exc: Exception | None) -> None:
        self.agent._transports.discard(self.transport)  # type: ignore[arg-type]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = self.buffer[:head_end].decode("latin-1").split("\r\n")
            headers = {}
            for line in head[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length") or 0)
            if len(self.buffer) < head_end + 4 + length:
                return
            raw = self.buffer[head_end + 4 : head_end + 4 + length]
            self.agent.wire.append(self.buffer[: head_end + 4 + length])
            self.buffer = self.buffer[head_end + 4 + length :]
            path = head[0].split(" ")[1] if " " in head[0] else "/"
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = {}
            if not self.agent._verified(path, headers, body, raw):
                self._write(401, {"error": "unauthorized: the call is not signed by restosync"})
            elif self.agent._answers_at_once():
                self._write(*self.agent._handle_now(path, headers, body))
            else:
                asyncio.get_running_loop().create_task(self._answer_later(path, headers, body))

    async def _answer_later(self, path: str, headers: dict[str, str], body: dict[str, Any]) -> None:
        self._write(*await self.agent._handle(path, headers, body))

    def _write(self, status: int, answer: dict[str, Any]) -> None:
        data = json.dumps(answer).encode()
        reason = {200: "OK", 202: "Accepted", 400: "Bad Request", 401: "Unauthorized"}.get(status, "Error")
        kind = "application/problem+json" if "title" in answer and "detail" in answer else "application/json"
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(
                f"HTTP/1.1 {status} {reason}\r\ncontent-type: {kind}\r\n"
                f"content-length: {len(data)}\r\n\r\n".encode() + data
            )


def _integer(params: dict[str, str], name: str, default: int) -> int:
    """A query parameter as a non-negative decimal integer (its default when absent)."""
    text = params.get(name)
    if text is None:
        return default
    if not _DIGITS.match(text):
        raise ValidationFailed(f"{name} must be a decimal integer between 0 and {POSITION_SPACE}, not {text!r}",
                               path=name)
    return int(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="a fake ERP agent that accepts every order")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--api-url", default=None, help="send completed callbacks to this API")
    parser.add_argument("--vendor-id", default=None)
    parser.add_argument("--token", default=None)
    parser.add_argument("--outbound-token", default=None, help="the registration answer's outbound.token")
    parser.add_argument("--signing-secret", default=None, help="the registration answer's outbound.signingSecret")
    args = parser.parse_args(argv)
    agent = FakeAgent(args.port).start()
    if args.outbound_token and args.signing_secret:
        agent.trust({"token": args.outbound_token, "signingSecret": args.signing_secret})
    if args.api_url:
        agent.callbacks_to(args.api_url, args.vendor_id, args.token)
    print(agent.url, flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        threading.Event().wait()
    agent.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
