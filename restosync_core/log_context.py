"""The ids of what is being done (request, correlation, sync job, run), for every log line written meanwhile.

One ``ContextVar`` holding a small dict: the shells bind a request's or a job's ids, a use case
binds what it learns on the way (the correlation id of the sync job it claimed), and the logging
adapter adds them to every line. Copy-on-write, so a task or thread started meanwhile keeps the
ids of the moment it started, and a binding in it never leaks back.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from types import MappingProxyType

_EMPTY: Mapping[str, object] = MappingProxyType({})
_ids: ContextVar[Mapping[str, object]] = ContextVar("restosync_log_context", default=_EMPTY)


def bind(**ids: object) -> None:
    """Add (or replace) ids on every log line of this context from now on."""
    _ids.set(MappingProxyType({**_ids.get(), **ids}))


def clear() -> None:
    """Forget every id (the end of a request or a job)."""
    _ids.set(_EMPTY)


def current() -> Mapping[str, object]:
    """The ids bound in this context."""
    return _ids.get()
