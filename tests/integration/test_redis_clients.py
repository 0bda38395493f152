"""The async Redis client: commands work as redis-py's, and a write that cannot go out times out.

Our connection class bounds a command's write with ``asyncio.timeout`` instead of
redis-py's ``asyncio.wait_for`` (a task per command); the bound and its error must
stay the same. A small RESP server that stops reading makes the write block.
"""

from __future__ import annotations

import asyncio

import pytest
from redis.exceptions import TimeoutError as RedisTimeoutError

from restosync_adapters.redis.clients import _Connection, make_async_redis
from tests.conftest import REDIS_URL


def _complete_commands(buffer: bytes) -> tuple[int, int]:
    """(complete RESP commands at the start of ``buffer``, bytes they take)."""
    count = consumed = 0
    pos = 0
    while buffer[pos : pos + 1] == b"*":
        end = buffer.find(b"\r\n", pos)
        if end < 0:
            break
        items, pos = int(buffer[pos + 1 : end]), end + 2
        for _ in range(items):
            end = buffer.find(b"\r\n", pos)
            if end < 0:
                return count, consumed
            pos = end + 2 + int(buffer[pos + 1 : end]) + 2
        if pos > len(buffer):
            break
        count, consumed = count + 1, pos
    return count, consumed


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
        count, consumed = _complete_commands(self.buffer)
        self.buffer = self.buffer[consumed:]
        self.transport.write(b"+OK\r\n" * count)


def test_commands_go_through_our_connection_class() -> None:
    async def scenario() -> None:
        client = make_async_redis(REDIS_URL)
        try:
            assert client.connection_pool.connection_class is _Connection
            key = "restosync-test-clients-probe"
            assert await client.set(key, "v", px=2000)
            async with client.pipeline(transaction=False) as pipe:
                pipe.get(key)
                pipe.delete(key)
                assert await pipe.execute() == [b"v", 1]
        finally:
            await client.aclose()

    asyncio.run(scenario())


def test_a_write_that_cannot_go_out_times_out_and_drops_the_connection() -> None:
    async def scenario() -> None:
        StallingRedis.stalled, StallingRedis.connections = False, 0
        server = await asyncio.get_running_loop().create_server(StallingRedis, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        conn = _Connection(host="127.0.0.1", port=port, socket_timeout=0.3)
        try:
            await conn.connect()
            StallingRedis.stalled = True
            big = conn.pack_command("SET", "k", b"x" * (64 * 1024 * 1024))  # far more than socket buffers hold
            with pytest.raises(RedisTimeoutError, match="Timeout writing to socket"):
                await conn.send_packed_command(big)
            assert not conn.is_connected, "a half-sent command: the connection is dropped"
        finally:
            await conn.disconnect()
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
