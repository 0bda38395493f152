"""Typed rows: psycopg row factories that build the core's dataclasses, and their column lists.

A repository declares once how its rows become a model
(``model_row(SyncJob, status=SyncJobStatus)``) and selects ``columns(SyncJob)``;
there are no per-model mapping functions. Values pass through unchanged but for
the named conversions (a PostgreSQL enum arrives as text and becomes the core's
enum). The queries are composed with ``psycopg.sql`` and rendered once, at import.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import fields
from typing import Any, TypeVar

from psycopg import AsyncConnection, sql
from psycopg.abc import Params
from psycopg.cursor_async import AsyncCursor
from psycopg.rows import BaseRowFactory, RowMaker, no_result, tuple_row

from restosync_core.model.pagination import Page, PageRequest

T = TypeVar("T")


def field_names(cls: type[Any], *, exclude: Sequence[str] = ()) -> list[str]:
    """The dataclass's field names, in order, but ``exclude``."""
    return [f.name for f in fields(cls) if f.name not in exclude]


def columns(cls: type[Any], *, table: str | None = None, exclude: Sequence[str] = ()) -> sql.Composed:
    """``a, b, c`` (or ``t.a, t.b, t.c``): the columns named like the fields of ``cls``."""
    names = field_names(cls, exclude=exclude)
    return sql.SQL(", ").join(sql.Identifier(table, n) if table else sql.Identifier(n) for n in names)


def render(query: sql.Composable) -> str:
    """The query as text, once: executing a ``Composed`` would render it again on every call."""
    return query.as_string()


def _maker(
    cls: Callable[..., T], names: list[str], convert: dict[str, Callable[[Any], Any]]
) -> Callable[[Sequence[Any]], T]:
    converters = [(i, convert[n]) for i, n in enumerate(names) if n in convert]

    def make(values: Sequence[Any]) -> T:
        if converters:
            values = list(values)
            for i, conv in converters:
                values[i] = conv(values[i])
        return cls(**dict(zip(names, values, strict=True)))

    return make


def model_row(cls: Callable[..., T], **convert: Callable[[Any], Any]) -> BaseRowFactory[T]:
    """Each row as ``cls(**columns)``, the columns named in ``convert`` passed through their function first."""

    def factory(cursor: Any) -> RowMaker[T]:
        if not cursor.description:
            return no_result
        return _maker(cls, [c.name for c in cursor.description], convert)

    return factory


def model_and(cls: Callable[..., T], extra: str, **convert: Callable[[Any], Any]) -> BaseRowFactory[tuple[T, Any]]:
    """Each row as ``(cls(**columns), last column)``: the last column (named ``extra``) is not the model's.

    For a window total (``count(*) OVER () AS total``) or a value read alongside
    the row (the status before an update).
    """

    def factory(cursor: Any) -> RowMaker[tuple[T, Any]]:
        if not cursor.description:
            return no_result
        names = [c.name for c in cursor.description]
        if names[-1] != extra:
            raise ValueError(f"the last column is {names[-1]!r}, not {extra!r}")
        make = _maker(cls, names[:-1], convert)

        def row(values: Sequence[Any]) -> tuple[T, Any]:
            return make(values[:-1]), values[-1]

        return row

    return factory


def cursor(conn: AsyncConnection[Any], row: BaseRowFactory[T]) -> AsyncCursor[T]:
    """A cursor of ``conn`` whose rows ``row`` makes."""
    return conn.cursor(row_factory=row)


async def fetch_one(
    conn: AsyncConnection[Any], row: BaseRowFactory[T], query: str, params: Params | None = None
) -> T | None:
    async with cursor(conn, row) as cur:
        await cur.execute(query, params)
        return await cur.fetchone()


async def fetch_all(
    conn: AsyncConnection[Any], row: BaseRowFactory[T], query: str, params: Params | None = None
) -> list[T]:
    async with cursor(conn, row) as cur:
        await cur.execute(query, params)
        return await cur.fetchall()


async def fetch_page(
    conn: AsyncConnection[Any],
    row: BaseRowFactory[tuple[T, Any]],
    list_query: str,
    count_query: str,
    params: dict[str, Any],
    page: PageRequest,
) -> Page[T]:
    """One page of a list whose rows carry the window total (``count(*) OVER ()``) after the model.

    A page past the end has no row to carry the total: only then is it counted apart.
    """
    rows = await fetch_all(conn, row, list_query, params)
    if rows:
        total: int = rows[0][1]
    else:
        counted = await fetch_one(conn, tuple_row, count_query, params)
        total = counted[0] if counted else 0
    return Page(items=[model for model, _ in rows], page=page.page, limit=page.limit, total=total)
