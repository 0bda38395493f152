"""What HttpxAgentClient guarantees, over real sockets, against a scripted HTTP server.

Each test runs one event loop holding both the client and a small server whose
answer to each request is chosen by the test (raw bytes: the client must cope
with what real servers send, not what a friendly fake sends). The client runs on
httpx's own transport; these tests state its guarantees (headers, timeouts, the
size limit, error mapping, keep-alive, TLS, proxies), not how httpx keeps them.
"""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
import subprocess
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from restosync_adapters.agent_client import HttpxAgentClient
from restosync_core.errors import AgentRefused, AgentUnavailable
from restosync_core.model.agents import AgentEndpoint, OutboundCredential
from restosync_core.model.ids import SyncJobId
from restosync_core.policies.agent_url import AgentUrlPolicy, parse_networks
from tests.agent_signature import verify_request
from tests.waiting import wait_until_async

Answer = Callable[[bytes, asyncio.StreamWriter], Awaitable[None]]


@dataclass
class Server:
    """Accepts connections; for each request read, calls ``answer(raw_request, writer)``."""

    answer: Answer
    connections: int = 0
    open: int = 0
    requests: list[bytes] = field(default_factory=list)
    server: asyncio.Server | None = None
    port: int = 0

    async def start(self, ssl_context: ssl.SSLContext | None = None) -> Server:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=ssl_context)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    def url(self, scheme: str = "http", host: str = "127.0.0.1") -> str:
        return f"{scheme}://{host}:{self.port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    ),
                    0,
                )
                raw = head + await reader.readexactly(length)
                self.requests.append(raw)
                await self.answer(raw, writer)
                if writer.is_closing():
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.open -= 1
            writer.close()

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


def ok(body: bytes = b'{"accepted":true}', extra: bytes = b"", status: bytes = b"200 OK") -> Answer:
    async def answer(_: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(
            b"HTTP/1.1 %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n%s\r\n"
            % (status, len(body), extra)
            + body
        )
        await writer.drain()

    return answer


CREDENTIAL = OutboundCredential("rso_out_transport-test", "whsec_" + base64.b64encode(b"k" * 32).decode())


def client(timeout: float = 5.0, **options: object) -> HttpxAgentClient:
    return HttpxAgentClient(timeout_seconds=timeout, **options)  # type: ignore[arg-type]


async def deliver(c: HttpxAgentClient, url: str, payload: dict[str, object] | None = None) -> None:
    await c.create_order(
        AgentEndpoint(url, CREDENTIAL), job_id=SyncJobId(uuid.uuid4()), correlation_id=uuid.uuid4(),
        payload=payload or {"n": 1},
    )


async def until(condition: Callable[[], bool], what: str, seconds: float = 5.0) -> None:
    """Poll ``condition`` on the loop (the server runs on it too) until it holds."""

    async def holds() -> bool:
        return condition()

    await wait_until_async(holds, seconds, what, every=0.005)


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(scenario(), 20))


def headers_of(raw: bytes) -> tuple[str, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    return lines[0], {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}, body


def test_the_request_carries_the_contract_headers_and_the_json_body_and_the_connection_is_reused() -> None:
    async def scenario() -> None:
        server = await Server(ok()).start()
        c = client()
        job_id, correlation = SyncJobId(uuid.uuid4()), uuid.uuid4()
        payload = {"orderNumber": "Ø-1", "lines": [{"sku": "A", "quantity": "2", "unitPrice": "18.50"}]}
        endpoint = AgentEndpoint(server.url() + "/", CREDENTIAL)
        await c.create_order(endpoint, job_id=job_id, correlation_id=correlation, payload=payload)
        await deliver(c, server.url())
        await deliver(c, server.url())
        request_line, headers, body = headers_of(server.requests[0])
        assert request_line == "POST /sync/create-order HTTP/1.1"
        assert headers["host"] == f"127.0.0.1:{server.port}"
        assert headers["authorization"] == "Bearer rso_out_transport-test"
        verify_request(CREDENTIAL.token, CREDENTIAL.signing_secret, headers, body, {})  # signed over the body
        assert headers["idempotency-key"] == str(job_id)
        assert headers["x-correlation-id"] == str(correlation)
        assert headers["content-type"] == "application/json"
        assert json.loads(body) == payload
        assert server.connections == 1  # three calls, one kept-alive connection
        await c.aclose()
        await server.stop()

    run(scenario)


def test_a_chunked_answer_is_read_whole_and_the_connection_is_reused() -> None:
    async def answer(_: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 202 Accepted\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
        await writer.drain()

    async def scenario() -> None:
        server = await Server(answer).start()
        c = client()
        await deliver(c, server.url())
        await deliver(c, server.url())
        assert server.connections == 1
        await c.aclose()
        await server.stop()

    run(scenario)


def test_an_answer_with_connection_close_is_not_kept() -> None:
    async def scenario() -> None:
        server = await Server(ok(extra=b"connection: close\r\n")).start()
        c = client()
        await deliver(c, server.url())
        await deliver(c, server.url())
        assert server.connections == 2
        await c.aclose()
        await server.stop()

    run(scenario)


def test_a_kept_alive_connection_the_agent_closed_while_idle_does_not_fail_the_next_delivery() -> None:
    async def answer_then_hang_up(raw: bytes, writer: asyncio.StreamWriter) -> None:
        await ok()(raw, writer)
        writer.close()  # the agent's keep-alive timeout, right after its answer

    async def scenario() -> None:
        server = await Server(answer_then_hang_up).start()
        c = client()
        await deliver(c, server.url())
        await until(lambda: server.open == 0, "the agent to close its side")
        await deliver(c, server.url())  # on a new connection, not an error on the dead one
        assert (server.connections, len(server.requests)) == (2, 2)
        await c.aclose()
        await server.stop()

    run(scenario)


def test_an_agent_that_hangs_up_without_answering_is_unavailable_and_its_connection_dropped() -> None:
    calls = 0

    async def hang_up_once(raw: bytes, writer: asyncio.StreamWriter) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            writer.close()
        else:
            await ok()(raw, writer)

    async def scenario() -> None:
        server = await Server(hang_up_once).start()
        c = client()
        with pytest.raises(AgentUnavailable, match=r"could not be reached .*RemoteProtocolError") as caught:
            await deliver(c, server.url())
        assert caught.value.status_code is None
        await deliver(c, server.url())
        assert server.connections == 2
        await c.aclose()
        await server.stop()

    run(scenario)


def test_an_agent_that_does_not_answer_in_time_is_unavailable() -> None:
    async def never(_: bytes, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(30)

    async def scenario() -> None:
        server = await Server(never).start()
        c = client(timeout=0.2)
        with pytest.raises(AgentUnavailable, match=r"did not answer in time \(within 0.2 s"):
            await deliver(c, server.url())
        await c.aclose()
        await server.stop()

    run(scenario)


def test_the_whole_answer_must_come_within_the_agent_timeout_not_each_read() -> None:
    async def trickle(_: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n")
        for _ in range(100):  # a byte every 50 ms: each read is quick, the answer takes 5 s
            await asyncio.sleep(0.05)
            writer.write(b"x")
            await writer.drain()

    async def scenario() -> None:
        server = await Server(trickle).start()
        c = client(timeout=0.5)
        started = time.monotonic()
        with pytest.raises(AgentUnavailable, match="did not answer in time"):
            await deliver(c, server.url())
        assert time.monotonic() - started < 2.0
        await c.aclose()
        await server.stop()

    run(scenario)


def test_connecting_is_bounded_by_5_seconds_and_the_call_by_the_agent_timeout() -> None:
    c = client(timeout=30)
    timeout = c.client.timeout
    assert (timeout.connect, timeout.read, c.timeout_seconds) == (5.0, 30, 30)
    assert client(timeout=2).client.timeout.connect == 2


def test_a_refused_connection_is_unavailable() -> None:
    async def scenario() -> None:
        server = await Server(ok()).start()
        url = server.url()
        await server.stop()  # nothing listens there any more
        c = client()
        with pytest.raises(AgentUnavailable, match=r"could not be reached .*ConnectError") as caught:
            await deliver(c, url)
        assert caught.value.status_code is None
        await c.aclose()

    run(scenario)


async def _undeclared_length(_: bytes, writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n" + b"x" * 5000)  # ends when it closes
    await writer.drain()
    writer.close()


@pytest.mark.parametrize(
    "answer", [ok(body=b"x" * 5000), _undeclared_length], ids=["declared length", "undeclared length"]
)
def test_an_answer_over_the_size_limit_is_refused_naming_the_limit(answer: Answer) -> None:
    async def scenario() -> None:
        server = await Server(answer).start()
        c = client(max_response_bytes=1000)
        with pytest.raises(AgentUnavailable, match="larger than 1000 bytes"):
            await deliver(c, server.url())
        await deliver(HttpxAgentClient(timeout_seconds=5), server.url())  # the default limit is 1 MiB
        await c.aclose()
        await server.stop()

    run(scenario)


def test_a_chunked_answer_over_the_size_limit_is_not_read_past_the_limit_nor_its_connection_kept() -> None:
    sent = 0

    async def endless(_: bytes, writer: asyncio.StreamWriter) -> None:
        nonlocal sent
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
        chunk = b"x" * 4096
        try:
            for _ in range(2560):  # 10 MiB, unless the client stops reading
                writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                await writer.drain()
                sent += len(chunk)
            writer.write(b"0\r\n\r\n")
            await writer.drain()
        except ConnectionError:
            writer.close()

    async def scenario() -> None:
        server = await Server(endless).start()
        c = client(max_response_bytes=10_000)
        with pytest.raises(AgentUnavailable, match="larger than 10000 bytes"):
            await deliver(c, server.url())
        await until(lambda: server.open == 0, "the connection to be dropped")
        assert sent < 5 * 1024 * 1024, "the client stopped reading at the limit"
        await c.aclose()
        await server.stop()

    run(scenario)


@pytest.mark.parametrize("status", [400, 404, 422])
def test_a_4xx_answer_is_a_refusal_with_its_status_and_text_and_keeps_the_connection(status: int) -> None:
    async def scenario() -> None:
        body = b'{"message":"unknown sku A"}'
        server = await Server(ok(body=body, status=b"%d Nope" % status)).start()
        c = client()
        with pytest.raises(AgentRefused, match=rf"answered {status}: .*unknown sku A") as caught:
            await deliver(c, server.url())
        assert caught.value.status_code == status
        with pytest.raises(AgentRefused):
            await deliver(c, server.url())
        assert server.connections == 1  # a complete exchange: the connection stays usable
        await c.aclose()
        await server.stop()

    run(scenario)


@pytest.mark.parametrize("status", [408, 429, 500, 503])
def test_a_5xx_408_or_429_answer_is_transient_with_its_status(status: int) -> None:
    async def scenario() -> None:
        server = await Server(ok(body=b"busy", status=b"%d Busy" % status)).start()
        c = client()
        with pytest.raises(AgentUnavailable, match=rf"answered {status}: busy") as caught:
            await deliver(c, server.url())
        assert caught.value.status_code == status
        await c.aclose()
        await server.stop()

    run(scenario)


def test_a_call_cancelled_midway_closes_its_connection() -> None:
    release = asyncio.Event()

    async def slow(raw: bytes, writer: asyncio.StreamWriter) -> None:
        await release.wait()
        await ok()(raw, writer)

    async def scenario() -> None:
        server = await Server(slow).start()
        c = client()
        task = asyncio.create_task(deliver(c, server.url()))
        await until(lambda: len(server.requests) == 1, "the request to arrive")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        release.set()  # its answer still comes: it must not be read as the next call's
        await deliver(c, server.url())
        assert server.connections == 2
        await c.aclose()
        await server.stop()

    run(scenario)


def test_https_agents_are_reached_over_tls_and_checked_against_the_trusted_roots(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_side.load_cert_chain(cert, key)
    trusting = ssl.create_default_context(cafile=str(cert))

    async def scenario() -> None:
        server = await Server(ok()).start(ssl_context=server_side)
        c = client(verify=trusting)
        await deliver(c, server.url("https", "localhost"))
        await deliver(c, server.url("https", "localhost"))
        assert server.connections == 1
        await c.aclose()
        # The default roots do not trust a self-signed certificate: refused, not sent.
        default = client()
        with pytest.raises(AgentUnavailable, match="ConnectError"):
            await deliver(default, server.url("https", "localhost"))
        assert len(server.requests) == 2
        await default.aclose()
        await server.stop()

    run(scenario)


@pytest.fixture
def no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    return monkeypatch


def test_an_http_proxy_from_the_environment_carries_the_call(no_proxy_env: pytest.MonkeyPatch) -> None:
    async def scenario() -> None:
        proxy = await Server(ok()).start()
        no_proxy_env.setenv("HTTP_PROXY", proxy.url())
        c = client()
        await deliver(c, "http://127.0.0.1:9")  # nothing listens there: only the proxy can answer
        request_line, headers, _ = headers_of(proxy.requests[0])
        assert request_line == "POST http://127.0.0.1:9/sync/create-order HTTP/1.1"
        assert headers["authorization"] == "Bearer rso_out_transport-test"
        await c.aclose()
        await proxy.stop()

    run(scenario)


def test_a_denied_address_is_refused_before_anything_reaches_the_proxy(no_proxy_env: pytest.MonkeyPatch) -> None:
    async def scenario() -> None:
        proxy = await Server(ok()).start()
        no_proxy_env.setenv("HTTP_PROXY", proxy.url())
        c = client(url_policy=AgentUrlPolicy(denied_networks=parse_networks("10.0.0.0/8")))
        with pytest.raises(AgentRefused, match="denied network"):
            await deliver(c, "http://10.1.2.3:8080")
        assert proxy.requests == []
        await c.aclose()
        await proxy.stop()

    run(scenario)
