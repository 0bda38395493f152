"""The one place PostgreSQL's errors become ours: ``map_db_errors``.

Connection loss, a pool with no connection to lend, timeouts and deadlocks are
transient (``DependencyUnavailable``: the request or job may be retried); a
unique violation is the client's ``Conflict`` when the caller says what it
means. Every other error (a bug in a statement) passes through unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg

from restosync_core.errors import Conflict, DependencyUnavailable

UNAVAILABLE = "the database is unavailable"


def ours(exc: BaseException, *, conflict: Callable[[], Conflict] | None = None) -> Exception | None:
    """Our error for ``exc``, or None when ``exc`` is not one we translate.

    ``conflict`` builds the ``Conflict`` a unique violation means to the caller;
    without it a unique violation is not translated (it is a bug, not the client's doing).
    """
    if isinstance(exc, psycopg.OperationalError):  # PoolTimeout is one too
        return DependencyUnavailable(UNAVAILABLE)
    if conflict is not None and isinstance(exc, psycopg.errors.UniqueViolation):
        return conflict()
    return None


@contextmanager
def map_db_errors(*, conflict: Callable[[], Conflict] | None = None) -> Iterator[None]:
    """Re-raise the block's psycopg/psycopg-pool errors as ours (see ``ours``), ``from`` the original."""
    try:
        yield
    except psycopg.Error as exc:
        translated = ours(exc, conflict=conflict)
        if translated is None:
            raise
        raise translated from exc
