"""HttpxAgentClient: the server's calls to agents, on httpx's own ``AsyncClient`` and transport.

What the client guarantees (``tests/integration/orders/test_agent_transport.py``
checks each against real local servers):

- ``POST {agentUrl}/sync/create-order`` with ``Authorization: Bearer <the agent's outbound token>``,
  ``Idempotency-Key: <sync job id>`` and ``X-Correlation-ID``, the payload as JSON.
- Every call signed (``outbound_signing``): ``webhook-id``, ``webhook-timestamp`` and
  ``webhook-signature`` over the body, or over the request target for a ``GET``. Nothing
  our side accepts (the registration secret, the admin key, the agent's own token) is sent.
- The ``ReconciliationAgent`` port: ``GET {agentUrl}/sync/checksum?entity=&from=&to=&parts=``
  and ``GET {agentUrl}/sync/items|stock?from=&to=`` with ``X-Correlation-ID``
  (docs/agent-protocol.md#reconciliation-restosync--agent), through the same call
  (address check, timeouts, size limit, error mapping). Answers are decoded
  strictly with msgspec: checksums of 64 lowercase hex digits, exactly the parts
  asked, adding up to the whole; rows held to the push rules (the structs of
  ``wire_rows``). Anything else, or an answer over the size limit, is
  ``AgentRefused`` naming what was wrong (tests/integration/reconciliation/
  test_agent_client_reconciliation.py).
- A connection within 5 s (``CONNECT_TIMEOUT_SECONDS``, or the agent timeout if
  shorter) and the whole call, address check, connection and complete answer
  included, within the agent timeout (``AGENT_TIMEOUT_SECONDS``, 30 s): httpx's
  own timeouts bound each network operation, a deadline around the call their sum.
- An answer over ``MAX_RESPONSE_BYTES`` (1 MiB) is refused naming the limit: the
  body is streamed and reading stops at the limit (a declared ``Content-Length``
  over it is refused before reading). For an order it is ``AgentUnavailable``,
  for a reconciliation call (whose contract bounds the answer) ``AgentRefused``.
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
import re
import socket
import ssl
import time
from collections.abc import Callable
from typing import Annotated, TypeVar
from uuid import UUID

import httpx
import msgspec
from msgspec import Meta

from restosync_adapters.outbound_signing import signed_headers
from restosync_adapters.wire_rows import NUL_MESSAGE, ItemIn, StockIn, nul_field
from restosync_core.errors import AgentRefused, AgentUnavailable, agent_answered
from restosync_core.model.agents import AgentEndpoint
from restosync_core.model.catalog import Item, StockLevel
from restosync_core.model.ids import SyncJobId
from restosync_core.model.reconciliation import ReconciledEntity
from restosync_core.policies.agent_url import AgentUrlPolicy
from restosync_core.policies.reconciliation import PositionRange, RangeDigest, combine

log = logging.getLogger(__name__)

CREATE_ORDER_PATH = "/sync/create-order"
CHECKSUM_PATH = "/sync/checksum"
ITEMS_PATH = "/sync/items"
STOCK_PATH = "/sync/stock"
USER_AGENT = "restosync"
CONNECT_TIMEOUT_SECONDS = 5.0
MAX_RESPONSE_BYTES = 1024 * 1024
"""An order's answer is a few hundred bytes, a reconciliation answer (256 checksums, or the rows of a
small range) a few tens of KB; a larger one is refused rather than buffered."""
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
        *,
        timeout_seconds: float,
        transport: httpx.AsyncBaseTransport | None = None,
        url_policy: AgentUrlPolicy | None = None,
        verify: ssl.SSLContext | bool = True,
        limits: httpx.Limits = LIMITS,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.now = now
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
            },
            follow_redirects=False,
            trust_env=True,
        )
        self._urls: dict[tuple[str, str], httpx.URL] = {}

    async def create_order(
        self, agent: AgentEndpoint, *, job_id: SyncJobId, correlation_id: UUID, payload: dict[str, object]
    ) -> None:
        headers = {"Idempotency-Key": str(job_id), "X-Correlation-ID": str(correlation_id)}
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        await self._call(
            "POST", agent, CREATE_ORDER_PATH, content=body, headers=headers,
            about=f"sync job {job_id}", too_large=AgentUnavailable,
        )

    # ------------------------------------------------------------------ reconciliation
    async def checksums(
        self, agent: AgentEndpoint, entity: ReconciledEntity, rng: PositionRange, parts: int, *, correlation_id: UUID
    ) -> list[RangeDigest]:
        """``GET {agent.url}/sync/checksum``: the digests of the ``parts`` children of ``rng``, checked
        against the protocol (``AgentRefused`` naming what is wrong)."""
        params = {"entity": entity.value, "from": str(rng.start), "to": str(rng.end), "parts": str(parts)}
        raw = await self._call(
            "GET", agent, CHECKSUM_PATH, params=params, headers={"X-Correlation-ID": str(correlation_id)},
            about=f"reconciliation {correlation_id}", too_large=AgentRefused,
        )
        answer = _decode(raw, _ChecksumAnswer, "checksum")
        if answer.entity != entity.value:
            raise AgentRefused(f"the agent's checksum answer is for {answer.entity!r}, {entity.value!r} was asked")
        if (answer.from_, answer.to) != (rng.start, rng.end):
            raise AgentRefused(
                f"the agent's checksum answer is for the range [{answer.from_}, {answer.to}), {rng} was asked"
            )
        if len(answer.parts) != parts:
            raise AgentRefused(f"the agent's checksum answer has {len(answer.parts)} parts, {parts} were asked")
        digests = [RangeDigest(p.count, p.checksum) for p in answer.parts]
        whole = combine(digests)
        if not whole.matches(RangeDigest(answer.count, answer.checksum)):
            raise AgentRefused(
                f"the agent's checksum answer says count {answer.count} and checksum {answer.checksum} for "
                f"the range, but its parts add up to count {whole.count} and checksum {whole.checksum}"
            )
        return digests

    async def rows(
        self, agent: AgentEndpoint, entity: ReconciledEntity, rng: PositionRange, *, correlation_id: UUID
    ) -> list[Item | StockLevel]:
        """``GET {agent.url}/sync/items`` (or ``/sync/stock``): the rows of ``rng``, each a valid push row."""
        path = ITEMS_PATH if entity is ReconciledEntity.ITEMS else STOCK_PATH
        raw = await self._call(
            "GET", agent, path, params={"from": str(rng.start), "to": str(rng.end)},
            headers={"X-Correlation-ID": str(correlation_id)},
            about=f"reconciliation {correlation_id}", too_large=AgentRefused,
        )
        return _rows(raw, entity)

    async def aclose(self) -> None:
        await self.client.aclose()

    # ------------------------------------------------------------------ internals
    async def _call(
        self,
        method: str,
        agent: AgentEndpoint,
        path: str,
        *,
        headers: dict[str, str],
        about: str,
        too_large: type[AgentRefused | AgentUnavailable],
        content: bytes | None = None,
        params: dict[str, str] | None = None,
    ) -> bytes:
        """One call to an agent: the address check, the whole call within the agent timeout, the answer
        read up to the size limit (past it: ``too_large``), and every failure mapped to our errors.
        Returns the body of a 2xx answer. Signed over the body, or the request target when there is none."""
        agent_url = agent.url
        url = self._url(agent_url, path)
        if params:
            url = url.copy_merge_params(params)
        signed = signed_headers(agent.credential, content if content else url.raw_path, now=self.now)
        try:
            async with asyncio.timeout(self.timeout_seconds):
                await self._check_address(url)
                async with self.client.stream(
                    method, url, content=content, headers={**headers, **signed}
                ) as response:
                    raw = await self._read(response)
        except AgentRefused as exc:
            log.warning("refused to call the agent at %s for %s: %s", agent_url, about, exc)
            raise
        except _TooLarge as exc:
            raise too_large(
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
            text = raw.decode(response.encoding or "utf-8", errors="replace")
            raise agent_answered(status, f"the agent answered {status}: {text[:300]}")
        return raw

    def _url(self, agent_url: str, path: str) -> httpx.URL:
        url = self._urls.get((agent_url, path))
        if url is None:  # parsed once per agent URL and call
            if len(self._urls) > 10_000:
                self._urls.clear()
            url = self._urls[agent_url, path] = httpx.URL(agent_url.rstrip("/") + path)
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

    async def _read(self, response: httpx.Response) -> bytes:
        """The answer's bytes, read up to ``max_response_bytes`` (``_TooLarge`` past it)."""
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
        return b"".join(chunks)


# ---------------------------------------------------------------- reconciliation answers

Count = Annotated[int, Meta(ge=0)]
Checksum = Annotated[str, Meta(pattern=r"^[0-9a-f]{64}$")]


class _Part(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    count: Count
    checksum: Checksum


class _ChecksumAnswer(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    entity: str
    from_: int = msgspec.field(name="from")
    to: int
    count: Count
    checksum: Checksum
    parts: list[_Part]


class _ItemsAnswer(msgspec.Struct, forbid_unknown_fields=True):
    items: list[ItemIn]


class _StockAnswer(msgspec.Struct, forbid_unknown_fields=True):
    stock: list[StockIn]


A = TypeVar("A", _ChecksumAnswer, _ItemsAnswer, _StockAnswer)

# msgspec gives a validation error's path only inside its message ("... - at `$.a[0].b`").
_AT_PATH = re.compile(r"^(?P<message>.*) - at `(?P<path>\$[^`]*)`$", re.DOTALL)
_UNKNOWN_FIELD = re.compile(r"^Object contains unknown field `(?P<field>[^`]*)`$")


def _decode(raw: bytes, type_: type[A], what: str) -> A:
    """The answer decoded and validated in one pass; ``AgentRefused`` naming the first bad field."""
    try:
        return msgspec.json.decode(raw, type=type_)
    except msgspec.ValidationError as exc:
        match = _AT_PATH.match(str(exc))
        message, path = (match["message"], match["path"]) if match else (str(exc), "$")
        unknown = _UNKNOWN_FIELD.match(message)
        if unknown:  # msgspec names the object holding it: name the field itself
            path, message = f"{path}.{unknown['field']}", "unknown field"
        raise AgentRefused(f"the agent's {what} answer breaks the protocol: {path}: {message}") from exc
    except msgspec.DecodeError as exc:
        raise AgentRefused(f"the agent's {what} answer is not JSON: {exc}") from exc
    except RecursionError as exc:
        raise AgentRefused(f"the agent's {what} answer nests too deep to read") from exc


def _rows(raw: bytes, entity: ReconciledEntity) -> list[Item | StockLevel]:
    """The rows of a rows answer, each held to the push rules, as the core's rows."""
    key = entity.value
    wire: list[ItemIn] | list[StockIn]
    if entity is ReconciledEntity.ITEMS:
        wire = _decode(raw, _ItemsAnswer, key).items
    else:
        wire = _decode(raw, _StockAnswer, key).stock
    if b"\\u0000" in raw:  # the only way JSON can carry a NUL
        for i, row in enumerate(wire):
            name = nul_field(row)
            if name is not None:
                raise AgentRefused(f"the agent's {key} answer breaks the protocol: $.{key}[{i}].{name}: {NUL_MESSAGE}")
    row_type: type[Item] | type[StockLevel] = Item if entity is ReconciledEntity.ITEMS else StockLevel
    try:
        rows: list[Item | StockLevel] = msgspec.convert(wire, list[row_type], from_attributes=True)  # type: ignore[valid-type]
    except msgspec.ValidationError as exc:  # not expected: the wire rules are stricter than the core's types
        raise AgentRefused(f"the agent's {key} answer breaks the protocol: {exc}") from exc
    return rows
