"""Deadlines for a request's headers and body: a client that sends them slowly is cut off.

uvicorn closes an idle keep-alive connection after 5 s, but a client that sends a byte
now and then is never idle: it can hold a connection (and the memory of a partial
request) for as long as it likes, and a few hundred such clients hold the server's
file descriptors. This protocol, uvicorn's own httptools protocol with two timers, gives
each request ``headers_seconds`` from its first byte (or from the connection, for the
first request) to its last header, and ``body_seconds`` from there to the end of its body:

- headers too slow: answered ``408 Request Timeout`` (``connection: close``) and closed;
  no application code ran for it;
- body too slow: the connection is closed; the application, waiting for the body, sees
  the client disconnect (Litestar reads the whole body before a handler runs, so
  nothing of the request is stored).

Each cut is one ``info`` log line naming the limit and the client. The decision and what
was measured: docs/decisions/0010-abuse-limits.md.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger("restosync.api")

_REQUEST_TIMEOUT = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\nconnection: close\r\n"
    b"content-length: %d\r\n\r\n%s"
)


class DeadlineProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with a deadline for each request's headers and one for its body."""

    headers_seconds: float = 10.0
    body_seconds: float = 30.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None

    def _arm(self, seconds: float, expired: Any) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.headers_seconds, self._headers_too_slow)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._deadline is None:  # the next request on a kept-alive connection: its own deadline
            self._arm(self.headers_seconds, self._headers_too_slow)

    def on_headers_complete(self) -> None:
        self._arm(self.body_seconds, self._body_too_slow)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _client(self) -> str:
        return f"{self.client[0]}:{self.client[1]}" if self.client else "unknown"

    def _headers_too_slow(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        message = f"the request's headers took more than {self.headers_seconds:g} s (HTTP_HEADERS_TIMEOUT_SECONDS)"
        log.info("cut off a slow client %s: %s", self._client(), message)
        self.transport.write(_REQUEST_TIMEOUT % (len(message), message.encode()))
        self.transport.close()

    def _body_too_slow(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        log.info("cut off a slow client %s: the request's body took more than %g s (HTTP_BODY_TIMEOUT_SECONDS)",
                 self._client(), self.body_seconds)
        self.transport.close()


def with_deadlines(headers_seconds: float, body_seconds: float) -> type[DeadlineProtocol]:
    """The protocol class uvicorn is given (``Config(http=...)``), with these deadlines."""
    return type("DeadlineProtocol", (DeadlineProtocol,),
                {"headers_seconds": headers_seconds, "body_seconds": body_seconds})
