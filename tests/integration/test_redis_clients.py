"""The async Redis client: a write that cannot go out times out, and the client recovers afterwards.

A small RESP server that stops reading makes the write block. It answers the
``HELLO`` handshake as a RESP3 server does (redis-py 8 speaks RESP3 by default)
and ``+OK`` to everything else.
"""

from __future__ import annotations

import asyncio

import pytest
from redis.exceptions import TimeoutError as RedisTimeoutError

from restosync_adapters.redis.clients import make_async_redis

HELLO_REPLY = b"%3\r\n$6\r\nserver\r\n$5\r\nredis\r\n$5\r\nproto\r\n:3\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n"


def _complete_commands(buffer: bytes) -> tuple[list[bytes], int]:
    """(the names of the complete RESP commands at the start of ``buffer``, bytes they take)."""
    names: list[bytes] = []
    consumed = pos = 0
    while buffer[pos : pos + 1] == b"*":
        end = buffer.find(b"\r\n", pos)
        if end < 0:
            break
        items, pos = int(buffer[pos + 1 : end]), end + 2
        name = b""
        for index in range(items):
            end = buffer.find(b"\r\n", pos)
            if end < 0:
                return names, consumed
            length = int(buffer[pos + 1 : end])
            if index == 0:
                name = buffer[end + 2 : end + 2 + length].upper()
            pos = end + 2 + length + 2
        if pos > len(buffer):
            break
        names.append(name)
        consumed = pos
    return names, consumed


class StallingRedis(asyncio.Protocol):
    """Answers ``+OK`` to every command until told to stall; then stops reading."""

    stalled = False
    connections = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.buffer = b""
        StallingRedis.connections += 1

    def data_received(self, data: bytes) -> None:
        if StallingRedis.stalled:
            self.transport.pause_reading()  # what is unread fills the buffers; the client's write blocks
            return
        self.buffer += data
        names, consumed = _complete_commands(self.buffer)
        self.buffer = self.buffer[consumed:]
        self.transport.write(b"".join(HELLO_REPLY if name == b"HELLO" else b"+OK\r\n" for name in names))


def test_a_write_that_cannot_go_out_times_out() -> None:
    async def scenario() -> None:
        StallingRedis.stalled, StallingRedis.connections = False, 0
        server = await asyncio.get_running_loop().create_server(StallingRedis, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        client = make_async_redis(f"redis://127.0.0.1:{port}/0", socket_timeout=0.3)
        try:
            assert await client.set("k", "small")
            StallingRedis.stalled = True
            with pytest.raises(RedisTimeoutError):  # far more than socket buffers hold: the write blocks
                await client.set("k", b"x" * (64 * 1024 * 1024))
        finally:
            await client.aclose()
            server.close()
            await server.wait_closed()

    asyncio.run(asyncio.wait_for(scenario(), 30))


def test_the_client_recovers_on_a_new_connection_after_a_write_timeout() -> None:
    async def scenario() -> None:
        StallingRedis.stalled, StallingRedis.connections = False, 0
        server = await asyncio.get_running_loop().create_server(StallingRedis, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        client = make_async_redis(f"redis://127.0.0.1:{port}/0", socket_timeout=0.3)
        try:
            assert await client.set("k", "small")
            StallingRedis.stalled = True
            with pytest.raises(RedisTimeoutError):  # the write times out; the retries' handshakes do too
                await client.set("k", b"x" * (64 * 1024 * 1024))
            StallingRedis.stalled = False
            assert await client.set("k", "small again")
            assert StallingRedis.connections >= 2
        finally:
            await client.aclose()
            server.close()
            await server.wait_closed()

    asyncio.run(asyncio.wait_for(scenario(), 30))
