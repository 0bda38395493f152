"""Who asked: the request's context for the audit log, read from what the middleware recorded."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request

from restosync_core.model.audit import RequestContext
from restosync_http.middleware import client_address


def request_context(request: Request[Any, Any, Any]) -> RequestContext:
    """The request id (``X-Request-ID``, or the one the middleware made up) and the client's address."""
    return RequestContext(
        request_id=request.scope.get("state", {}).get("request_id"),
        client_address=client_address(request.scope),
    )


def correlation_id(request: Request[Any, Any, Any]) -> uuid.UUID:
    """The request's correlation id: its valid ``X-Correlation-ID``, or the one the middleware made up."""
    return uuid.UUID(request.scope["state"]["correlation_id"])
