"""Around every request: a request id, security headers and one access-log line.

This runs outside Litestar's routing, so 404s, 405s, 413s, 429s and errors
get the same headers and ids as any other response (REQ-13.1, REQ-13.5).
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import structlog
from litestar.types import Message, Receive, Scope, Send

from restosync_adapters.logging import bind_context, clear_context

access_log = structlog.get_logger("restosync.access")

REQUEST_ID_HEADER = b"x-request-id"
_SAFE_REQUEST_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")

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


def client_address(scope: Scope) -> str | None:
    client = scope.get("client")
    return client[0] if client else None


async def with_request_context(scope: Scope, receive: Receive, send: Send, app: Any) -> None:
    """Call ``app`` with a request id bound to the logs and the headers added to the answer."""
    if scope["type"] != "http":
        await app(scope, receive, send)
        return
    request_id = request_id_of(scope)
    scope.setdefault("state", {})["request_id"] = request_id
    clear_context()
    bind_context(request_id=request_id)
    started = time.perf_counter()
    status_holder = [500]
    is_docs = scope["path"].startswith("/schema")

    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            status_holder[0] = message["status"]
            headers = [h for h in message.get("headers", []) if h[0].lower() != REQUEST_ID_HEADER]
            headers.append((REQUEST_ID_HEADER, request_id.encode("ascii")))
            present = {h[0].lower() for h in headers}
            for name, value in SECURITY_HEADERS:
                if name not in present:
                    headers.append((name, DOCS_CSP if is_docs and name == b"content-security-policy" else value))
            message["headers"] = headers
        await send(message)

    try:
        await app(scope, receive, send_with_headers)
    finally:
        access_log.info(
            "request",
            method=scope["method"],
            path=scope["path"],
            status=status_holder[0],
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
            client=client_address(scope),
        )
        clear_context()
