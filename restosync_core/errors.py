"""The error tree of restosync. Every error the core raises is one of these.

    RestosyncError
    ├── ClientError                 the caller asked for something wrong; retrying won't help
    │   ├── ValidationFailed        bad input (HTTP 400)
    │   ├── Unauthenticated         missing or wrong credentials (401)
    │   ├── Forbidden               authenticated, but not allowed (403)
    │   ├── NotFound                no such thing (404)
    │   ├── Conflict                clashes with the stored state (409)
    │   ├── PayloadTooLarge         over a named limit (413)
    │   └── RateLimited             over a named rate limit (429)
    └── TransientError              the world is briefly unwell; retrying may help (503)
        ├── DependencyUnavailable   PostgreSQL or Redis is down
        ├── AgentUnavailable        the vendor's agent did not answer well
        └── CircuitOpen             the breaker for that agent refuses calls for now

HTTP status codes and retry policies both follow the split between client and
transient errors. Library exceptions stop at the adapter that called the library
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


class TransientError(RestosyncError):
    """Something outside restosync is briefly unwell: the same request may succeed later."""


class DependencyUnavailable(TransientError):
    code = "dependency_unavailable"


class AgentUnavailable(TransientError):
    """The agent did not accept a call: timeout, refused connection or a non-2xx answer."""

    code = "agent_unavailable"

    def __init__(self, message: str, *, status_code: int | None = None, permanent: bool = False) -> None:
        super().__init__(message, detail={"statusCode": status_code} if status_code else None)
        self.status_code = status_code
        self._permanent = permanent

    @property
    def permanent(self) -> bool:
        """No retry will help: a 4xx other than 408/429 (the request itself is bad), or a call the
        client refused to make (``permanent=True``, e.g. the agent's host is in a denied network)."""
        code = self.status_code
        return self._permanent or (code is not None and 400 <= code < 500 and code not in (408, 429))


class CircuitOpen(TransientError):
    """The breaker refused the call without trying; ``retry_at`` is when it half-opens."""

    code = "circuit_open"

    def __init__(self, message: str, *, retry_at: datetime) -> None:
        super().__init__(message, detail={"retryAt": retry_at.isoformat()})
        self.retry_at = retry_at
