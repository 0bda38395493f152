"""AgentTransport and HttpxAgentClient over real sockets, against a scripted HTTP server.

Each test runs one event loop holding both the client and a small server whose
answer to each request is chosen by the test (raw bytes: the transport must
parse what real servers send, not what a friendly fake sends).
"""

from __future__ import annotations

import asyncio
import json
import ssl
import subprocess
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from restosync_adapters.agent_client import AgentTransport, HttpxAgentClient
from restosync_core.errors import AgentRefused, AgentUnavailable
from restosync_core.model.ids import SyncJobId

Answer = Callable[[bytes, asyncio.StreamWriter], Awaitable[None]]


@dataclass
class Server:
    """Accepts connections; for each request read, calls ``answer(raw_request, writer)``."""

    answer: Answer
    connections: int = 0
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
            writer.close()

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


def ok(body: bytes = b'{"accepted":true}', extra: bytes = b"") -> Answer:
    async def answer(_: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n%s\r\n" % (len(body), extra)
            + body
        )
        await writer.drain()

    return answer


def client(transport: AgentTransport | None = None, timeout: float = 5.0) -> HttpxAgentClient:
    return HttpxAgentClient("agent-secret", timeout_seconds=timeout, transport=transport)


async def deliver(c: HttpxAgentClient, url: str, payload: dict[str, object] | None = None) -> None:
    await c.create_order(url, job_id=SyncJobId(uuid.uuid4()), correlation_id=uuid.uuid4(), payload=payload or {"n": 1})


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(scenario(), 20))


def test_the_request_carries_the_contract_headers_and_the_json_body_and_the_connection_is_reused() -> None:
    async def scenario() -> None:
        server = await Server(ok()).start()
        c = client()
        job_id, correlation = SyncJobId(uuid.uuid4()), uuid.uuid4()
        payload = {"orderNumber": "Ø-1", "lines": [{"sku": "A", "quantity": "2", "unitPrice": "18.50"}]}
        await c.create_order(server.url() + "/", job_id=job_id, correlation_id=correlation, payload=payload)
        await deliver(c, server.url())
        await deliver(c, server.url())
        head, _, body = server.requests[0].partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
        assert lines[0] == "POST /sync/create-order HTTP/1.1"
        assert headers["host"] == f"127.0.0.1:{server.port}"
        assert headers["authorization"] == "Bearer agent-secret"
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
        transport = AgentTransport()
        request = httpx.Request("POST", server.url() + "/x", content=b"{}")
        response = await transport.handle_async_request(request)
        assert response.status_code == 202
        assert await response.aread() == b"hello"
        await deliver(client(transport), server.url())
        assert server.connections == 1
        await transport.aclose()
        await server.stop()

    run(scenario)


def test_an_answer_with_connection_close_is_not_kept() -> None:
    async def scenario() -> None:
        server = await Server(ok(extra=b"connection: close\r\n")).start()
        transport = AgentTransport()
        c = client(transport)
        await deliver(c, server.url())
        assert transport.idle_connections() == 0
        await deliver(c, server.url())
        assert server.connections == 2
        await c.aclose()
        await server.stop()

    run(scenario)


def test_an_agent_that_hangs_up_without_answering_is_unavailable_and_its_connection_dropped() -> None:
    async def hang_up(_: bytes, writer: asyncio.StreamWriter) -> None:
        writer.close()

    async def scenario() -> None:
        server = await Server(hang_up).start()
        transport = AgentTransport()
        with pytest.raises(AgentUnavailable, match=r"could not be reached .*RemoteProtocolError") as caught:
            await deliver(client(transport), server.url())
        assert caught.value.status_code is None
        assert transport.idle_connections() == 0
        await server.stop()

    run(scenario)


def test_an_agent_that_does_not_answer_in_time_is_unavailable() -> None:
    async def never(_: bytes, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(30)

    async def scenario() -> None:
        server = await Server(never).start()
        transport = AgentTransport()
        with pytest.raises(AgentUnavailable, match=r"did not answer in time .*ReadTimeout"):
            await deliver(client(transport, timeout=0.2), server.url())
        assert transport.idle_connections() == 0
        await server.stop()

    run(scenario)


def test_a_refused_connection_is_unavailable() -> None:
    async def scenario() -> None:
        server = await Server(ok()).start()
        url = server.url()
        await server.stop()  # nothing listens there any more
        with pytest.raises(AgentUnavailable, match=r"could not be reached .*ConnectError"):
            await deliver(client(), url)

    run(scenario)


def test_an_answer_over_the_size_limit_is_refused_naming_the_limit() -> None:
    async def scenario() -> None:
        server = await Server(ok(body=b"x" * 5000)).start()
        transport = AgentTransport(max_response_bytes=1000)
        with pytest.raises(AgentUnavailable, match="larger than 1000 bytes"):
            await deliver(client(transport), server.url())
        assert transport.idle_connections() == 0
        await server.stop()

    run(scenario)


def test_an_error_answer_keeps_its_status_and_text_and_the_connection() -> None:
    async def refuse(_: bytes, writer: asyncio.StreamWriter) -> None:
        body = b'{"message":"unknown sku A"}'
        writer.write(b"HTTP/1.1 422 Unprocessable Entity\r\ncontent-length: %d\r\n\r\n" % len(body) + body)
        await writer.drain()

    async def scenario() -> None:
        server = await Server(refuse).start()
        transport = AgentTransport()
        with pytest.raises(AgentRefused, match=r"answered 422: .*unknown sku A") as caught:
            await deliver(client(transport), server.url())
        assert caught.value.status_code == 422
        assert transport.idle_connections() == 1  # a complete exchange: the connection stays usable
        await transport.aclose()
        await server.stop()

    run(scenario)


def test_a_call_cancelled_midway_closes_its_connection() -> None:
    async def slow(_: bytes, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(0.3)
        await ok()(b"", writer)

    async def scenario() -> None:
        server = await Server(slow).start()
        transport = AgentTransport()
        c = client(transport)
        task = asyncio.create_task(deliver(c, server.url()))
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert transport.idle_connections() == 0  # its answer may still come: never reuse it
        await deliver(c, server.url())
        assert server.connections == 2
        await c.aclose()
        await server.stop()

    run(scenario)


def test_an_idle_connection_past_its_keep_alive_expiry_is_replaced() -> None:
    async def scenario() -> None:
        server = await Server(ok()).start()
        c = client(AgentTransport(keepalive_expiry=0.05))
        await deliver(c, server.url())
        await asyncio.sleep(0.1)
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
        c = client(AgentTransport(ssl_context=trusting))
        await deliver(c, server.url("https", "localhost"))
        await deliver(c, server.url("https", "localhost"))
        assert server.connections == 1
        await c.aclose()
        # The default roots do not trust a self-signed certificate: refused, not sent.
        with pytest.raises(AgentUnavailable, match="ConnectError"):
            await deliver(client(AgentTransport()), server.url("https", "localhost"))
        assert len(server.requests) == 2
        await server.stop()

    run(scenario)
