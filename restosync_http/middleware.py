"""Around every request: a request id, a correlation id, security headers and one access-log line.

This runs outside Litestar's routing, so 404s, 405s, 413s, 429s and errors
get the same headers and ids as any other response (REQ-13.1, REQ-13.5). It
also refuses, as problem details, what Litestar would answer in its own format
or let through to PostgreSQL: a CORS preflight from an origin (or asking for a
method or header) we do not allow, and a NUL character in the path or query.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

import msgspec
import structlog
from litestar.config.cors import CORSConfig
from litestar.constants import DEFAULT_ALLOWED_CORS_HEADERS
from litestar.datastructures import Headers
from litestar.enums import ScopeType
from litestar.types import (
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    HTTPScope,
    Message,
    Receive,
    ReceiveMessage,
    Scope,
    Send,
)

from restosync_adapters.logging import bind_context, clear_context
from restosync_core import log_context
from restosync_http.errors import PROBLEM_JSON, problem
from restosync_http.prometheus import observe_request

access_log = structlog.get_logger("restosync.access")

REQUEST_ID_HEADER = b"x-request-id"
_SAFE_REQUEST_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")
CORRELATION_ID_HEADER = b"x-correlation-id"
CLIENT_CLOSED_REQUEST = 499
"""The status logged (nginx's convention) for a request whose client went away before its answer."""

# helmet's defaults, with the spec's CSP (default-src 'self') and COEP.
SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-security-policy",
     b"default-src 'self'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'; object-src 'none'"),
    (b"cross-origin-embedder-policy", b"require-corp"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"origin-agent-cluster", b"?1"),
    (b"referrer-policy", b"no-referrer"),
    (b"strict-transport-security", b"max-age=31536000; includeSubDomains"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-dns-prefetch-control", b"off"),
    (b"x-download-options", b"noopen"),
    (b"x-frame-options", b"DENY"),
    (b"x-permitted-cross-domain-policies", b"none"),
    (b"x-xss-protection", b"0"),
]
# The docs UI (only served when SWAGGER_ENABLED=true) loads its scripts from a CDN.
DOCS_CSP = (
    b"default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://unpkg.com; "
    b"style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://unpkg.com https://fonts.googleapis.com; "
    b"img-src 'self' data: https:; font-src 'self' https://fonts.gstatic.com; frame-ancestors 'none'"
)


def request_id_of(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == REQUEST_ID_HEADER and _SAFE_REQUEST_ID.match(value):
            return value.decode("ascii")
    return str(uuid.uuid4())


def correlation_id_of(scope: Scope) -> str:
    """The caller's ``X-Correlation-ID`` when it is a UUID (in its canonical spelling), else a new one.

    A UUID because that is what the sync jobs and reconciliation runs store it as; anything
    else (too long, not a UUID) is replaced rather than refused: the id is for following a
    request, never a reason to fail it.
    """
    for name, value in scope.get("headers", ()):
        if name == CORRELATION_ID_HEADER and len(value) <= 64:
            try:
                return str(uuid.UUID(value.decode("ascii")))
            except ValueError:
                break
    return str(uuid.uuid4())


def client_address(scope: Scope) -> str | None:
    client = scope.get("client")
    return client[0] if client else None


def preflight_refusal(cors: CORSConfig | None, scope: HTTPScope) -> str | None:
    """Why a CORS preflight is refused (Litestar's own rules), or None when it is not one or is allowed."""
    if cors is None or scope["method"] != "OPTIONS":
        return None
    headers = Headers.from_scope(scope)
    origin = headers.get("origin")
    if not origin:
        return None
    method = headers.get("access-control-request-method")
    if not cors.is_origin_allowed(origin):
        return f"CORS preflight refused: the origin {origin} is not allowed"
    if not cors.is_allow_all_methods and method and method not in cors.allow_methods:
        return f"CORS preflight refused: the method {method} is not allowed"
    if not cors.is_allow_all_headers:
        allowed = {h.lower() for h in cors.allow_headers} | {h.lower() for h in DEFAULT_ALLOWED_CORS_HEADERS}
        asked = [h.strip() for h in headers.get("access-control-request-headers", "").split(",") if h.strip()]
        refused = [h for h in asked if h.lower() not in allowed]
        if refused:
            return f"CORS preflight refused: the header(s) {', '.join(refused)} are not allowed"
    return None


def nul_in_url(scope: Scope) -> str | None:
    """The name of the path or query parameter holding a NUL (PostgreSQL text cannot store one), or None."""
    if "\x00" in scope["path"]:
        return "path"
    query = scope.get("query_string", b"")
    if b"%00" in query or b"\x00" in query:
        for key, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
            if "\x00" in key or "\x00" in value:
                return key.replace("\x00", "") or "query"
        return "query"
    return None


def _refusal(scope: HTTPScope, cors: CORSConfig | None) -> tuple[str, str, list[dict[str, Any]]] | None:
    """(code, detail, errors) of a request refused before routing, or None."""
    if reason := preflight_refusal(cors, scope):
        return "cors_refused", reason, []
    if where := nul_in_url(scope):
        message = "the path may not contain NUL (%00)" if where == "path" else f"{where} may not contain NUL (%00)"
        source = "path" if where == "path" else "query"
        return "validation_failed", message, [{"path": where, "source": source, "message": message}]
    return None


async def _send_problem(
    scope: Scope, send: Send, request_id: str, code: str, detail: str, errors: list[dict[str, Any]]
) -> None:
    """A 400 problem answered before Litestar sees the request (the caller's ``send`` adds the headers)."""
    body = msgspec.json.encode(
        problem(400, detail, instance=scope["path"], request_id=request_id, code=code, errors=errors or None)
    )
    start: HTTPResponseStartEvent = {
        "type": "http.response.start",
        "status": 400,
        "headers": [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode())],
    }
    end: HTTPResponseBodyEvent = {"type": "http.response.body", "body": body, "more_body": False}
    await send(start)
    await send(end)


async def with_request_context(
    scope: Scope,
    receive: Receive,
    send: Send,
    app: Any,
    cors: CORSConfig | None = None,
    allowed_methods: Mapping[str, str] | None = None,
) -> None:
    """Call ``app`` with a request id and a correlation id bound to the logs and the headers added to the answer.

    A client that disconnects before its answer is logged with status 499 and ``client_disconnected``,
    not as the 500 Litestar makes of a body it could not finish reading.
    ``allowed_methods`` (path template -> ``Allow``) corrects the ``Allow`` of a plain ``OPTIONS``:
    Litestar 2.25 builds a path's ``OPTIONS`` answer from the first handlers registered on it and
    lists only their methods when more are merged in (``GET /api/admin/mappings/{id}`` without
    ``PUT``, ``DELETE``).
    """
    if scope["type"] != ScopeType.HTTP:
        await app(scope, receive, send)
        return
    request_id = request_id_of(scope)
    correlation_id = correlation_id_of(scope)
    state = scope.setdefault("state", {})
    state["request_id"] = request_id
    state["correlation_id"] = correlation_id
    clear_context()
    bind_context(request_id=request_id, correlation_id=correlation_id)
    started = time.perf_counter()
    status_holder = [500]
    disconnected = [False]
    is_docs = scope["path"].startswith("/schema")
    own_headers = (REQUEST_ID_HEADER, CORRELATION_ID_HEADER)

    async def receive_watching() -> ReceiveMessage:
        message = await receive()
        if message["type"] == "http.disconnect":
            disconnected[0] = True
        return message

    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            status_holder[0] = message["status"]
            headers = [h for h in message.get("headers", []) if h[0].lower() not in own_headers]
            if allowed_methods and scope["method"] == "OPTIONS":
                allow = allowed_methods.get(scope.get("path_template", ""))
                if allow:
                    headers = [h for h in headers if h[0].lower() != b"allow"] + [(b"allow", allow.encode())]
            headers.append((REQUEST_ID_HEADER, request_id.encode("ascii")))
            # The id bound last: a callback answers the correlation id of the order it reports on.
            answered = str(log_context.current().get("correlation_id", correlation_id))
            headers.append((CORRELATION_ID_HEADER, answered.encode("ascii")))
            present = {h[0].lower() for h in headers}
            for name, value in SECURITY_HEADERS:
                if name not in present:
                    headers.append((name, DOCS_CSP if is_docs and name == b"content-security-policy" else value))
            message["headers"] = headers
        await send(message)

    try:
        refusal = _refusal(scope, cors)
        if refusal:
            await _send_problem(scope, send_with_headers, request_id, *refusal)
        else:
            await app(scope, receive_watching, send_with_headers)
    finally:
        status = status_holder[0]
        extra = {}
        if disconnected[0] and status >= 500:
            status = CLIENT_CLOSED_REQUEST
            extra["client_disconnected"] = True
        access_log.info(
            "request",
            method=scope["method"],
            path=scope["path"],
            status=status,
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
            client=client_address(scope),
            **extra,
        )
        observe_request(scope, status, started)  # Prometheus: by route template (restosync_http/prometheus.py)
        clear_context()
