"""HttpxAgentClient: the server's calls to agents, over one pooled httpx transport per process."""

from __future__ import annotations

import asyncio
import select
import socket
import ssl
from typing import Any
from uuid import UUID

import httpcore
import httpx

from restosync_core.errors import AgentUnavailable
from restosync_core.model.ids import SyncJobId

CREATE_ORDER_PATH = "/sync/create-order"
USER_AGENT = "restosync"


class _AsyncioStream(httpcore.AsyncNetworkStream):
    """A TCP (or TLS) connection on asyncio's own streams, raising httpcore's errors."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109 (httpcore's API)
        try:
            async with asyncio.timeout(timeout):
                return await self._reader.read(max_bytes)
        except TimeoutError as exc:
            raise httpcore.ReadTimeout(str(exc)) from exc
        except OSError as exc:
            raise httpcore.ReadError(str(exc)) from exc

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        if not buffer:
            return
        try:
            self._writer.write(buffer)
            transport = self._writer.transport
            if transport.get_write_buffer_size() == 0 and not transport.is_closing():
                return  # all handed to the kernel: nothing to wait for
            async with asyncio.timeout(timeout):
                await self._writer.drain()  # raises if the connection was lost
        except TimeoutError as exc:
            raise httpcore.WriteTimeout(str(exc)) from exc
        except OSError as exc:
            raise httpcore.WriteError(str(exc)) from exc

    async def aclose(self) -> None:
        self._writer.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                await self._writer.start_tls(ssl_context, server_hostname=server_hostname)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(str(exc)) from exc
        except (OSError, ssl.SSLError) as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        return self

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":  # asked of an idle keep-alive connection: has the agent closed it?
            if self._reader.at_eof() or self._reader.exception() is not None:
                return True
            # The loop may not have run since the agent closed it (workers idle between jobs):
            # ask the socket itself, as httpcore does on anyio.
            # poll, not select: select fails for descriptors above FD_SETSIZE (1024).
            sock = self._writer.get_extra_info("socket")
            if sock is None:
                return False
            poller = select.poll()
            poller.register(sock.fileno(), select.POLLIN)
            return bool(poller.poll(0))
        names = {"ssl_object": "ssl_object", "client_addr": "sockname", "server_addr": "peername", "socket": "socket"}
        return self._writer.get_extra_info(names[info]) if info in names else None


class AsyncioNetworkBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network layer on plain asyncio streams instead of anyio.

    httpx under asyncio goes through anyio, whose cancel scopes and lookups on every
    read and write cost about a third of an agent call's CPU in a worker (measured:
    0.76-0.95 ms -> 0.53-0.60 ms per call, the fake agent's share included). Same
    timeouts, same errors (httpcore's, which httpx maps to its own), TLS by asyncio.
    """

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(
                    host, port, local_addr=(local_address, 0) if local_address else None
                )
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(str(exc)) from exc
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as anyio does
            for option in socket_options or ():
                sock.setsockopt(*option)
        return _AsyncioStream(reader, writer)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None  # noqa: ASYNC109
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("agents are reached over TCP")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def agent_transport(limits: httpx.Limits) -> httpx.AsyncHTTPTransport:
    """httpx's transport (its request/response handling and error mapping) over ``AsyncioNetworkBackend``.

    ``AsyncHTTPTransport`` takes no network backend, so its connection pool is
    replaced by the same pool built with one (httpx is pinned below 0.29).
    """
    transport = httpx.AsyncHTTPTransport(limits=limits)
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=httpx.create_ssl_context(),
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=AsyncioNetworkBackend(),
    )
    return transport


class HttpxAgentClient:
    """``Authorization: Bearer <AGENT_SECRET>`` ("NestJS -> Agent: token from config"), 30 s timeout.

    Requests go straight to httpx's connection-pooling transport (keep-alive, the
    same timeouts and exceptions as through ``httpx.AsyncClient``): a delivery
    needs none of the client's layers (cookies, auth flows, redirects, event
    hooks, proxies from the environment), and skipping them saves about a third
    of the CPU an agent call costs the worker (see docs/orders.md, Performance).
    Agents are called directly, never through an ``HTTP(S)_PROXY`` of the
    environment.
    """

    def __init__(
        self, token: str, *, timeout_seconds: float, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.token = token
        self.timeout = httpx.Timeout(timeout_seconds, connect=min(timeout_seconds, 5.0))
        self.transport = transport or agent_transport(
            httpx.Limits(max_connections=100, max_keepalive_connections=20)
        )
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
            "User-Agent": USER_AGENT,
            "Authorization": f"Bearer {self.token}",
            "Idempotency-Key": str(job_id),
            "X-Correlation-ID": str(correlation_id),
        }
        request = httpx.Request("POST", url, json=payload, headers=headers, extensions=self._extensions)
        try:
            response = await self.transport.handle_async_request(request)
            try:
                if response.is_success:  # the body is not used: drained as is, for the connection's reuse
                    async for _ in response.aiter_raw():
                        pass
                else:
                    await response.aread()
            finally:
                await response.aclose()
        except httpx.TimeoutException as exc:
            raise AgentUnavailable(f"the agent did not answer in time ({type(exc).__name__})") from exc
        except httpx.HTTPError as exc:
            raise AgentUnavailable(f"the agent could not be reached ({type(exc).__name__})") from exc
        if not response.is_success:
            raise AgentUnavailable(
                f"the agent answered {response.status_code}: {response.text[:300]}",
                status_code=response.status_code,
            )

    async def aclose(self) -> None:
        await self.transport.aclose()
