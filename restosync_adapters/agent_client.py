"""HttpxAgentClient: the server's calls to agents, on httpx's own ``AsyncClient`` and transport.

What the client guarantees (``tests/integration/orders/test_agent_transport.py``
checks each against real local servers):

- ``POST {agentUrl}/sync/create-order`` with ``Authorization: Bearer <AGENT_SECRET>``,
  ``Idempotency-Key: <sync job id>`` and ``X-Correlation-ID``, the payload as JSON.
- A connection within 5 s (``CONNECT_TIMEOUT_SECONDS``, or the agent timeout if
  shorter) and the whole call, address check, connection and complete answer
  included, within the agent timeout (``AGENT_TIMEOUT_SECONDS``, 30 s): httpx's
  own timeouts bound each network operation, a deadline around the call their sum.
- An answer over ``MAX_RESPONSE_BYTES`` (1 MiB) is refused naming the limit: the
  body is streamed and reading stops at the limit (a declared ``Content-Length``
  over it is refused before reading).
- A 2xx returns; a 4xx other than 408/429 is ``AgentRefused``; a 5xx, 408, 429, a
  timeout, a refused or broken connection is ``AgentUnavailable``.
- Keep-alive: connections are pooled per origin (``LIMITS``); httpcore checks an
  idle connection's socket before reusing it, so one the agent closed while the
  worker was idle is replaced, not failed on. A call cut short (an error, a
  timeout, a cancelled task) never leaves its connection in the pool.
- ``HTTP_PROXY``/``HTTPS_PROXY``/``NO_PROXY`` of the environment are honoured
  (``trust_env``); redirects are never followed.

**Denied addresses.** Before each call the client resolves the agent's host
(``getaddrinfo`` in the loop's executor) and refuses, with ``AgentRefused`` and
without sending anything, when the host is a cloud-metadata name or any address
it resolves to is in a network the ``AgentUrlPolicy`` denies
(``AGENT_URL_DENIED_NETWORKS``). What this leaves open, knowingly: httpx resolves
the host again when it opens a connection, and that connection cannot be pinned
to the address we checked. A DNS answer that changes between the two lookups (a
rebinding attack with a zero TTL) can still take one call to a denied address.
Through a proxy it is the proxy that resolves and connects: our check vouches for
our own resolution only (the host must also resolve here, or the call fails as
transient). Closing the window needs a connection pinned to the vetted address
(the h11 transport this replaced did that, at the cost of maintaining an HTTP
client of our own; docs/decisions/0005) or a proxy that enforces the same list.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import socket
import ssl
from uuid import UUID

import httpx

from restosync_core.errors import AgentRefused, AgentUnavailable, agent_answered
from restosync_core.model.ids import SyncJobId
from restosync_core.policies.agent_url import AgentUrlPolicy

log = logging.getLogger(__name__)

CREATE_ORDER_PATH = "/sync/create-order"
USER_AGENT = "restosync"
CONNECT_TIMEOUT_SECONDS = 5.0
MAX_RESPONSE_BYTES = 1024 * 1024
"""An agent's answer is a few hundred bytes; a larger one is refused rather than buffered."""
LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0)
"""Per client (one per process). A worker makes one call at a time; the pool mostly keeps it kept-alive."""


class _TooLarge(Exception):
    """The answer went past the size limit (reading stopped there)."""


class HttpxAgentClient:
    """The ``AgentClient`` port on one ``httpx.AsyncClient`` per process.

    ``transport`` replaces httpx's own (``httpx.MockTransport`` in a test; no
    environment proxy applies then); ``verify`` is httpx's (an ``ssl.SSLContext``
    for other roots); ``url_policy`` says which networks may not be called.
    """

    def __init__(
        self,
        token: str,
        *,
        timeout_seconds: float,
        transport: httpx.AsyncBaseTransport | None = None,
        url_policy: AgentUrlPolicy | None = None,
        verify: ssl.SSLContext | bool = True,
        limits: httpx.Limits = LIMITS,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
    ) -> None:
        self.timeout_seconds = timeout_seconds
        self.connect_timeout = min(timeout_seconds, CONNECT_TIMEOUT_SECONDS)
        self.url_policy = url_policy or AgentUrlPolicy()
        self.max_response_bytes = max_response_bytes
        self.client = httpx.AsyncClient(
            transport=transport,
            verify=verify,
            limits=limits,
            timeout=httpx.Timeout(timeout_seconds, connect=self.connect_timeout),
            headers={
                "Accept": "application/json",
                "Accept-Encoding": "identity",
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                "Authorization": f"Bearer {token}",
            },
            follow_redirects=False,
            trust_env=True,
        )
        self._urls: dict[str, httpx.URL] = {}

    async def create_order(
        self, agent_url: str, *, job_id: SyncJobId, correlation_id: UUID, payload: dict[str, object]
    ) -> None:
        url = self._url(agent_url)
        headers = {"Idempotency-Key": str(job_id), "X-Correlation-ID": str(correlation_id)}
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        try:
            async with asyncio.timeout(self.timeout_seconds):
                await self._check_address(url)
                async with self.client.stream("POST", url, content=body, headers=headers) as response:
                    text = await self._read(response)
        except AgentRefused as exc:
            log.warning("refused to call the agent at %s for sync job %s: %s", agent_url, job_id, exc)
            raise
        except _TooLarge as exc:
            raise AgentUnavailable(
                f"the agent's answer is larger than {self.max_response_bytes} bytes (MAX_RESPONSE_BYTES): "
                "not read further",
            ) from exc
        except (TimeoutError, httpx.TimeoutException) as exc:
            raise AgentUnavailable(
                f"the agent did not answer in time (within {self.timeout_seconds} s; {type(exc).__name__})"
            ) from exc
        except httpx.HTTPError as exc:
            raise AgentUnavailable(f"the agent could not be reached ({type(exc).__name__}: {exc})") from exc
        if not response.is_success:
            status = response.status_code
            raise agent_answered(status, f"the agent answered {status}: {text[:300]}")

    async def aclose(self) -> None:
        await self.client.aclose()

    # ------------------------------------------------------------------ internals
    def _url(self, agent_url: str) -> httpx.URL:
        url = self._urls.get(agent_url)
        if url is None:  # parsed once per agent URL
            if len(self._urls) > 10_000:
                self._urls.clear()
            url = self._urls[agent_url] = httpx.URL(agent_url.rstrip("/") + CREATE_ORDER_PATH)
        return url

    async def _check_address(self, url: httpx.URL) -> None:
        """``AgentRefused`` when the host is, or resolves to, an address the policy denies."""
        host, policy = url.host, self.url_policy
        if host.lower().rstrip(".") in policy.denied_hostnames:
            raise AgentRefused(f"the agent's address is denied: {host} is a cloud metadata service: not called")
        try:
            addresses = [str(ipaddress.ip_address(host))]  # a literal: nothing to resolve
        except ValueError:
            port = url.port or (443 if url.scheme == "https" else 80)
            try:
                async with asyncio.timeout(self.connect_timeout):
                    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except TimeoutError as exc:
                raise httpx.ConnectTimeout(f"{host} was not resolved within {self.connect_timeout} s") from exc
            except OSError as exc:
                raise httpx.ConnectError(f"{host} could not be resolved: {exc}") from exc
            addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        for address in addresses:
            denied = policy.denied_address(address)
            if denied is not None:
                shown = host if host == address else f"{host} resolves to {address}, which"
                raise AgentRefused(
                    f"the agent's address is denied: {shown} is in a denied network "
                    f"({denied}; AGENT_URL_DENIED_NETWORKS): not called"
                )

    async def _read(self, response: httpx.Response) -> str:
        """The answer's text, read up to ``max_response_bytes`` (``_TooLarge`` past it)."""
        limit = self.max_response_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise _TooLarge
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > limit:
                raise _TooLarge
            chunks.append(chunk)
        return b"".join(chunks).decode(response.encoding or "utf-8", errors="replace")
