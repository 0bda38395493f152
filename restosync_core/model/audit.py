"""The audit trail: who did what to which entity, when, and from which request."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class RequestContext:
    """Who asked, for the audit log: the request id and the client's address.

    ``RequestContext()`` (both None) marks what the system did on its own (a health
    check, a heartbeat flush), not on a request.
    """

    request_id: str | None = None
    client_address: str | None = None


NO_REQUEST = RequestContext()
"""The context of what the system does on its own (health checks, heartbeat flushes), and the
default of a use case called without one (a ``RequestContext()``, shared: it is immutable)."""


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One ``audit_log`` row. ``details`` never holds a secret (no token, no token hash)."""

    action: str
    """What happened, ``<area>.<verb>``: ``agent.registered``, ``dlq.retry``..."""
    entity_type: str
    """What it happened to: ``agent``, ``dead_letter``."""
    entity_id: str
    """Which one: a vendor id for an agent, a letter id for a dead letter."""
    context: RequestContext
    created_at: datetime
    details: dict[str, object] = field(default_factory=dict)
