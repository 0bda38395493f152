"""One function mapping every error to RFC 9457 problem details; no stack trace or SQL ever leaks.

This is the only place that spells a problem ``type``: ``PROBLEM_TYPE_BASE`` plus
a kebab-case code (``https://restosync.dev/problems/validation-failed``). A core
error's code (``not_found``) and a Litestar exception's status (404) lead to the
same URI, so a client sees one type per kind of error whoever raised it.
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from restosync_core import errors as core
from restosync_http.dto.base import Problem

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_BASE = "https://restosync.dev/problems/"

STATUS_BY_ERROR: list[tuple[type[core.RestosyncError], int]] = [
    (core.ValidationFailed, 400),
    (core.Unauthenticated, 401),
    (core.Forbidden, 403),
    (core.NotFound, 404),
    (core.Conflict, 409),
    (core.PayloadTooLarge, 413),
    (core.RateLimited, 429),
    (core.ClientError, 400),
    (core.TransientError, 503),
]

CODE_BY_STATUS = {
    400: core.ValidationFailed.code,
    401: core.Unauthenticated.code,
    403: core.Forbidden.code,
    404: core.NotFound.code,
    405: "method_not_allowed",
    409: core.Conflict.code,
    413: core.PayloadTooLarge.code,
    429: core.RateLimited.code,
    500: "internal_error",
    503: "service_unavailable",
}
"""The code of an error known only by its status (Litestar's own exceptions): the core's code for that status."""

TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Payload Too Large",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def problem_type(code: str) -> str:
    """The problem ``type`` URI of an error code, in kebab case whatever the code's spelling."""
    return PROBLEM_TYPE_BASE + code.lower().replace("_", "-").replace(" ", "-")


def problem(
    status: int,
    detail: str,
    *,
    instance: str | None,
    request_id: str | None,
    code: str | None = None,
    errors: list[dict[str, Any]] | None = None,
) -> Problem:
    """The problem details of an error: the one builder of every error body, inside Litestar or outside."""
    title = TITLES.get(status, "Error")
    return Problem(
        type=problem_type(code or CODE_BY_STATUS.get(status, title)),
        title=title,
        status=status,
        detail=detail,
        instance=instance,
        request_id=request_id,
        errors=errors,
    )


def problem_response(
    request: Request[Any, Any, Any],
    status: int,
    detail: str,
    *,
    code: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[Problem]:
    body = problem(
        status,
        detail,
        instance=request.url.path,
        request_id=request.scope.get("state", {}).get("request_id"),
        code=code,
        errors=errors,
    )
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _status_of(exc: core.RestosyncError) -> int:
    for cls, status in STATUS_BY_ERROR:
        if isinstance(exc, cls):
            return status
    return HTTP_500_INTERNAL_SERVER_ERROR


def restosync_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    assert isinstance(exc, core.RestosyncError)
    status = _status_of(exc)
    headers: dict[str, str] = {}
    if isinstance(exc, core.RateLimited):
        headers["Retry-After"] = str(exc.retry_after_seconds)
    if isinstance(exc, core.Unauthenticated):
        headers["WWW-Authenticate"] = "Bearer"
    if status >= 500:
        log.warning("transient failure: %s", exc.message, exc_info=exc.__cause__ is not None)
    errors: list[dict[str, object]] | None = None
    if isinstance(exc, core.ValidationFailed) and exc.path:
        errors = [{"path": exc.path, "message": exc.message}]
    elif exc.detail:
        errors = [exc.detail]
    code = exc.code if exc.code != core.RestosyncError.code else None  # a bare ClientError: named by its status
    return problem_response(request, status, exc.message, code=code, errors=errors, headers=headers)


def _json_path(key: str) -> str:
    """Litestar names a bad field ``items[3].price`` or ``sku``; agents read ``$.items[3].price``."""
    return key if key.startswith("$") else f"$.{key}" if key else "$"


def http_exception_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    detail = exc.detail or TITLES.get(status, "Error")
    errors = None
    if isinstance(exc, ValidationException):
        errors = []
        for item in exc.extra if isinstance(exc.extra, list) else []:
            if isinstance(item, dict):
                source = item.get("source")
                key = str(item.get("key", ""))
                path = _json_path(key) if source in (None, "body") else key
                errors.append({"path": path, "source": source or "body", "message": item.get("message")})
        if errors:
            first = errors[0]
            detail = f"{first['message']} at {first['path']}"
    headers = dict(exc.headers or {})
    if isinstance(exc, NotAuthorizedException):
        headers.setdefault("WWW-Authenticate", "Bearer")
    if status == 413:
        detail = exc.detail or "the request body is too large"
    return problem_response(request, status, detail, errors=errors or None, headers=headers)


def unexpected_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    log.error("unhandled error", exc_info=exc)
    return problem_response(request, 500, "an unexpected error occurred; see the logs for this request id")


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    core.RestosyncError: restosync_error_handler,
    HTTPException: http_exception_handler,
    Exception: unexpected_error_handler,
}
