"""HttpxAgentClient: the server's calls to agents, through httpx, on a lean HTTP/1.1 transport of our own.

A delivery is one small JSON POST on a kept-alive connection. httpx's stock
transport (httpcore's pool on anyio) spent more CPU on its layers than the
call itself; ``AgentTransport`` is an ``httpx.AsyncBaseTransport`` that speaks
HTTP/1.1 with h11 (the parser httpcore uses) on asyncio streams, keeps idle
connections per origin, and answers with an ordinary ``httpx.Response``. The
client above it builds ``httpx.Request`` objects and maps httpx's exceptions to
our own, so any httpx transport (``httpx.MockTransport`` in a test) fits under it.

Before it opens a connection the transport resolves the agent's host itself
(``getaddrinfo`` in the loop's executor) and refuses, without connecting, when
any address it resolves to is denied by the ``AgentUrlPolicy``; it then connects
to the vetted address, so a DNS answer that changes in between cannot redirect it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import select
import socket
import ssl
import time
from typing import Any
from uuid import UUID

import h11
import httpx

from restosync_core.errors import AgentRefused, AgentUnavailable, agent_answered
from restosync_core.model.ids import SyncJobId
from restosync_core.policies.agent_url import AgentUrlPolicy

log = logging.getLogger(__name__)

CREATE_ORDER_PATH = "/sync/create-order"
USER_AGENT = "restosync"
MAX_RESPONSE_BYTES = 1024 * 1024
"""An agent's answer is a few hundred bytes; a larger one is refused rather than buffered."""
READ_CHUNK = 64 * 1024

Origin = tuple[str, str, int]


class AgentAddressDenied(httpx.ConnectError):
    """The agent's host is, or resolves to, an address the URL policy denies: nothing was connected."""


class _Connection:
    """One TCP (or TLS) connection to an agent, and the h11 state of the exchange on it."""

    __slots__ = ("h11", "idle_since", "reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=64 * 1024)
        self.idle_since = 0.0

    def still_open(self) -> bool:
        """May an idle connection be reused? Not if the agent closed it (or sent something unasked).

        A worker's loop only runs while a job runs, so the stream may not have seen the
        agent's FIN yet: the socket itself is asked too (poll, not select: select fails
        for descriptors above FD_SETSIZE).
        """
        if self.reader.at_eof() or self.reader.exception() is not None or self.writer.is_closing():
            return False
        sock = self.writer.get_extra_info("socket")
        if sock is None:
            return True
        poller = select.poll()
        poller.register(sock.fileno(), select.POLLIN)
        return not poller.poll(0)  # readable while idle: EOF, an error or junk

    def close(self) -> None:
        self.writer.close()


class AgentTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 to agents: h11 on asyncio streams, keep-alive connections per origin.

    Honours the request's ``timeout`` extension (httpx's ``Timeout.as_dict()``):
    ``connect`` bounds opening the connection (and TLS), ``write`` sending the
    request, ``read`` the whole wait for the complete answer. Errors are httpx's
    (``ConnectError``, ``ConnectTimeout``, ``WriteError``, ``ReadTimeout``,
    ``ReadError``, ``RemoteProtocolError``). A connection goes back to the pool only
    after a complete exchange that both sides may continue; an exchange cut short
    (an error, a timeout, a cancelled task) closes it. A host that is, or resolves
    to, an address ``url_policy`` denies raises ``AgentAddressDenied`` (a
    ``ConnectError``) before any connection is made.
    """

    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext | None = None,
        max_keepalive_per_origin: int = 20,
        keepalive_expiry: float = 5.0,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
        url_policy: AgentUrlPolicy | None = None,
    ) -> None:
        self._ssl_context = ssl_context
        self.url_policy = url_policy or AgentUrlPolicy()
        self.max_keepalive = max_keepalive_per_origin
        self.keepalive_expiry = keepalive_expiry
        self.max_response_bytes = max_response_bytes
        self._idle: dict[Origin, list[_Connection]] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        origin = (url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80))
        timeouts = request.extensions.get("timeout", {})
        connection = self._take_idle(origin) or await self._connect(origin, timeouts.get("connect"), request)
        done = False
        try:
            response = await self._exchange(connection, request, timeouts)
            done = connection.h11.our_state is h11.DONE and connection.h11.their_state is h11.DONE
        finally:
            if done:
                connection.h11.start_next_cycle()
                self._put_idle(origin, connection)
            else:
                connection.close()
        return response

    async def aclose(self) -> None:
        idle, self._idle = self._idle, {}
        for connections in idle.values():
            for connection in connections:
                connection.close()

    def idle_connections(self) -> int:
        return sum(len(c) for c in self._idle.values())

    # ------------------------------------------------------------------ internals
    def _take_idle(self, origin: Origin) -> _Connection | None:
        connections = self._idle.get(origin)
        now = time.monotonic()
        while connections:
            connection = connections.pop()  # the most recently used: the likeliest to be alive
            if now - connection.idle_since < self.keepalive_expiry and connection.still_open():
                return connection
            connection.close()
        return None

    def _put_idle(self, origin: Origin, connection: _Connection) -> None:
        connection.idle_since = time.monotonic()
        connections = self._idle.setdefault(origin, [])
        connections.append(connection)
        if len(connections) > self.max_keepalive:
            connections.pop(0).close()

    def _ssl(self) -> ssl.SSLContext:
        if self._ssl_context is None:
            self._ssl_context = httpx.create_ssl_context()  # httpx's defaults (certifi's roots)
        return self._ssl_context

    async def _connect(self, origin: Origin, timeout: float | None, request: httpx.Request) -> _Connection:  # noqa: ASYNC109
        scheme, host, port = origin
        tls = self._ssl() if scheme == "https" else None
        try:
            async with asyncio.timeout(timeout):
                addresses = await self._allowed_addresses(host, port, request)
                reader, writer = await self._open(addresses, host, port, tls)
        except TimeoutError as exc:
            raise httpx.ConnectTimeout(f"no connection to {host}:{port} within {timeout} s", request=request) from exc
        except (OSError, ssl.SSLError) as exc:
            raise httpx.ConnectError(f"{host}:{port}: {exc}", request=request) from exc
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return _Connection(reader, writer)

    async def _allowed_addresses(self, host: str, port: int, request: httpx.Request) -> list[str]:
        """Every address ``host`` resolves to, or ``AgentAddressDenied`` when the policy denies one."""
        policy = self.url_policy
        if host.lower().rstrip(".") in policy.denied_hostnames:
            raise AgentAddressDenied(f"{host} is a cloud metadata service: not connecting", request=request)
        try:
            addresses = [str(ipaddress.ip_address(host))]  # a literal: nothing to resolve
        except ValueError:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
            addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        for address in addresses:
            denied = policy.denied_address(address)
            if denied is not None:
                shown = host if host == address else f"{host} resolves to {address}, which"
                raise AgentAddressDenied(
                    f"{shown} is in a denied network ({denied}; AGENT_URL_DENIED_NETWORKS): not connecting",
                    request=request,
                )
        return addresses

    @staticmethod
    async def _open(
        addresses: list[str], host: str, port: int, tls: ssl.SSLContext | None
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """Connect to the first vetted address that answers (TLS still checks ``host``'s certificate)."""
        error: OSError | None = None
        for address in addresses:
            try:
                return await asyncio.open_connection(
                    address, port, ssl=tls, server_hostname=host if tls else None, limit=READ_CHUNK
                )
            except OSError as exc:
                error = exc
        raise error or OSError(f"{host} resolved to no address")

    async def _exchange(
        self, connection: _Connection, request: httpx.Request, timeouts: dict[str, Any]
    ) -> httpx.Response:
        state = connection.h11
        try:
            data = state.send(
                h11.Request(method=request.method, target=request.url.raw_path, headers=request.headers.raw)
            )
            body = request.content  # built from bytes: always in memory
            if body:
                data += state.send(h11.Data(data=body))
            data += state.send(h11.EndOfMessage())
        except h11.LocalProtocolError as exc:
            raise httpx.LocalProtocolError(str(exc), request=request) from exc
        await self._send(connection, data or b"", timeouts.get("write"), request)
        try:
            async with asyncio.timeout(timeouts.get("read")):
                return await self._receive(connection, request)
        except TimeoutError as exc:
            raise httpx.ReadTimeout(f"no complete answer within {timeouts.get('read')} s", request=request) from exc
        except OSError as exc:
            raise httpx.ReadError(str(exc) or type(exc).__name__, request=request) from exc
        except h11.RemoteProtocolError as exc:
            raise httpx.RemoteProtocolError(str(exc), request=request) from exc

    async def _send(self, connection: _Connection, data: bytes, timeout: float | None, request: httpx.Request) -> None:  # noqa: ASYNC109
        writer = connection.writer
        try:
            writer.write(data)
            if writer.transport.get_write_buffer_size() == 0 and not writer.is_closing():
                return  # all handed to the kernel
            async with asyncio.timeout(timeout):
                await writer.drain()  # raises if the connection was lost
        except TimeoutError as exc:
            raise httpx.WriteTimeout(f"the request was not sent within {timeout} s", request=request) from exc
        except (OSError, RuntimeError) as exc:
            raise httpx.WriteError(str(exc) or type(exc).__name__, request=request) from exc

    async def _receive(self, connection: _Connection, request: httpx.Request) -> httpx.Response:
        state = connection.h11
        head: h11.Response | None = None
        chunks: list[bytes] = []
        size = 0
        while True:
            event = state.next_event()
            if event is h11.NEED_DATA:
                state.receive_data(await connection.reader.read(READ_CHUNK))  # b"" = the agent closed it
            elif isinstance(event, h11.Response):
                head = event
            elif isinstance(event, h11.Data):
                size += len(event.data)
                if size > self.max_response_bytes:
                    raise httpx.RemoteProtocolError(
                        f"the answer is larger than {self.max_response_bytes} bytes (MAX_RESPONSE_BYTES)",
                        request=request,
                    )
                chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                break
            elif isinstance(event, h11.ConnectionClosed):
                raise httpx.RemoteProtocolError("the connection closed before a complete answer", request=request)
            # InformationalResponse (1xx) and anything else: keep reading
        assert head is not None
        return httpx.Response(
            head.status_code,
            headers=head.headers.raw_items(),
            stream=httpx.ByteStream(b"".join(chunks)),
            request=request,
            extensions={"http_version": b"HTTP/" + head.http_version, "reason_phrase": head.reason},
        )


class HttpxAgentClient:
    """``Authorization: Bearer <AGENT_SECRET>`` ("NestJS -> Agent: token from config"), 30 s timeout.

    Agents are called directly, never through an ``HTTP(S)_PROXY`` of the environment.
    """

    def __init__(
        self,
        token: str,
        *,
        timeout_seconds: float,
        transport: httpx.AsyncBaseTransport | None = None,
        url_policy: AgentUrlPolicy | None = None,
    ) -> None:
        """``url_policy``: the networks the default transport refuses to connect to."""
        self.token = token
        self.timeout = httpx.Timeout(timeout_seconds, connect=min(timeout_seconds, 5.0))
        self.transport = transport or AgentTransport(url_policy=url_policy)
        self._extensions = {"timeout": self.timeout.as_dict()}
        self._urls: dict[str, httpx.URL] = {}

    async def create_order(
        self, agent_url: str, *, job_id: SyncJobId, correlation_id: UUID, payload: dict[str, object]
    ) -> None:
        url = self._urls.get(agent_url)
        if url is None:  # parsed once per agent URL
            if len(self._urls) > 10_000:
                self._urls.clear()
            url = self._urls[agent_url] = httpx.URL(agent_url.rstrip("/") + CREATE_ORDER_PATH)
        headers = {
            "Accept": "application/json",
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "Authorization": f"Bearer {self.token}",
            "Idempotency-Key": str(job_id),
            "X-Correlation-ID": str(correlation_id),
        }
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        request = httpx.Request("POST", url, content=body, headers=headers, extensions=self._extensions)
        try:
            response = await self.transport.handle_async_request(request)
            try:
                await response.aread()
            finally:
                await response.aclose()
        except AgentAddressDenied as exc:
            log.warning("refused to call the agent at %s for sync job %s: %s", agent_url, job_id, exc)
            raise AgentRefused(f"the agent's address is denied: {exc}") from exc
        except httpx.TimeoutException as exc:
            raise AgentUnavailable(f"the agent did not answer in time ({type(exc).__name__}: {exc})") from exc
        except httpx.HTTPError as exc:
            raise AgentUnavailable(f"the agent could not be reached ({type(exc).__name__}: {exc})") from exc
        if not response.is_success:
            status = response.status_code
            raise agent_answered(status, f"the agent answered {status}: {response.text[:300]}")

    async def aclose(self) -> None:
        await self.transport.aclose()
