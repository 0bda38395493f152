"""The error tree of restosync. Every error the core raises is one of these.

    RestosyncError
    ├── ClientError                 the caller asked for something wrong; retrying won't help
    │   ├── ValidationFailed        bad input (HTTP 400)
    │   ├── Unauthenticated         missing or wrong credentials (401)
    │   ├── Forbidden               authenticated, but not allowed (403)
    │   ├── NotFound                no such thing (404)
    │   ├── Conflict                clashes with the stored state (409)
    │   ├── PayloadTooLarge         over a named limit (413)
    │   ├── RateLimited             over a named rate limit (429)
    │   └── AgentRefused            the agent refused an order for good, or cannot be called
    │                               (denied address, no agent any more): dead-lettered, never retried
    └── TransientError              the world is briefly unwell; retrying may help (503)
        ├── DependencyUnavailable   PostgreSQL or Redis is down
        ├── AgentUnavailable        the vendor's agent did not answer well
        └── CircuitOpen             the breaker for that agent refuses calls for now

HTTP status codes and retry policies both follow the split between client and
transient errors. ``AgentRefused`` sits on the client side because it is the
same verdict seen from restosync as the agent's client: the request (the order,
or its target) is wrong and retrying it unchanged cannot succeed; it ends a
delivery in the dead letters and never reaches the HTTP API.
``agent_answered(status, message)`` picks ``AgentRefused`` or
``AgentUnavailable`` for an agent's non-2xx answer. Library exceptions stop at the adapter that called the library
and are re-raised as one of these, ``from`` the original.
"""

from __future__ import annotations

from datetime import datetime


class RestosyncError(Exception):
    """Base of every error restosync raises on purpose."""

    code: str = "error"

    def __init__(self, message: str, *, detail: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail or {}


class ClientError(RestosyncError):
    """The request itself is wrong: retrying it unchanged cannot succeed."""


class ValidationFailed(ClientError):
    code = "validation_failed"

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(message, detail={"path": path} if path else None)
        self.path = path


class Unauthenticated(ClientError):
    code = "unauthenticated"


class Forbidden(ClientError):
    code = "forbidden"


class NotFound(ClientError):
    code = "not_found"


class Conflict(ClientError):
    code = "conflict"


class PayloadTooLarge(ClientError):
    code = "payload_too_large"


class RateLimited(ClientError):
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after_seconds: int) -> None:
        super().__init__(message, detail={"retryAfter": retry_after_seconds})
        self.retry_after_seconds = retry_after_seconds


class AgentRefused(ClientError):
    """No retry will help this delivery: the agent answered a 4xx other than 408/429 (the order
    itself is bad), or the call cannot be made (its address is denied, the vendor's agent is gone)."""

    code = "agent_refused"

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message, detail={"statusCode": status_code} if status_code else None)
        self.status_code = status_code


class TransientError(RestosyncError):
    """Something outside restosync is briefly unwell: the same request may succeed later."""


class DependencyUnavailable(TransientError):
    code = "dependency_unavailable"


class AgentUnavailable(TransientError):
    """The agent did not accept a call, for now: a timeout, a refused connection, a 5xx, 408 or 429."""

    code = "agent_unavailable"

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message, detail={"statusCode": status_code} if status_code else None)
        self.status_code = status_code


class CircuitOpen(TransientError):
    """The breaker refused the call without trying; ``retry_at`` is when it half-opens."""

    code = "circuit_open"

    def __init__(self, message: str, *, retry_at: datetime) -> None:
        super().__init__(message, detail={"retryAt": retry_at.isoformat()})
        self.retry_at = retry_at


RETRYABLE_4XX = frozenset({408, 429})
"""The 4xx answers that mean "not now" (timeout, too many requests) rather than "never"."""


def agent_answered(status_code: int, message: str) -> AgentRefused | AgentUnavailable:
    """The error for an agent's non-2xx answer: a refusal for a 4xx other than 408/429, else transient."""
    if 400 <= status_code < 500 and status_code not in RETRYABLE_4XX:
        return AgentRefused(message, status_code=status_code)
    return AgentUnavailable(message, status_code=status_code)
