"""``?page=&limit=`` for every list: one dependency turns them into a ``PageRequest``, one helper answers a page.

The bounds live in ``restosync_core.model.pagination``; out of range is a 400
naming the parameter and its limits ("page must be between 1 and 1000000"). The
OpenAPI document states the same bounds. Every list answers ``{data, meta:
{page, limit, total, totalPages}}``, and the filters lists share are spelt here
once (``vendorId``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from litestar.di import NamedDependency, Provide
from litestar.params import QueryParameter

from restosync_core.model.ids import VendorId
from restosync_core.model.pagination import DEFAULT_LIMIT, MAX_LIMIT, MAX_PAGE, Page, PageRequest
from restosync_http.dto.base import VENDOR_ID_SCHEMA, PageMeta, Paginated, vendor_param

T = TypeVar("T")
R = TypeVar("R")


def page_request(
    page: Annotated[
        int,
        QueryParameter(description=f"Page number, from 1 to {MAX_PAGE}.",
                       schema_extra={"minimum": 1, "maximum": MAX_PAGE}),
    ] = 1,
    limit: Annotated[
        int,
        QueryParameter(description=f"Page size, from 1 to {MAX_LIMIT}.",
                       schema_extra={"minimum": 1, "maximum": MAX_LIMIT}),
    ] = DEFAULT_LIMIT,
) -> PageRequest:
    return PageRequest(page, limit)


PAGINATION = {"paging": Provide(page_request, sync_to_thread=False)}
"""Add to a list controller's ``dependencies``; its handlers then take ``paging: Paging``."""

Paging = NamedDependency[PageRequest]

VendorFilter = Annotated[
    str | None,
    QueryParameter(name="vendorId", description="Only this vendor's (1-64 characters of [A-Za-z0-9._-]).",
                   schema_extra=VENDOR_ID_SCHEMA),
]
"""``?vendorId=``, the same on every list that filters by vendor; read it with :func:`vendor_filter`."""


def vendor_filter(value: str | None) -> VendorId | None:
    """The ``vendorId`` filter, or a 400 naming it when it is not a vendor id."""
    return vendor_param(value) if value is not None else None


def paginated(found: Page[T], answer: Callable[[T], R]) -> Paginated[R]:
    """A page of core objects as the wire's ``{data, meta}``."""
    return Paginated(
        data=[answer(item) for item in found.items],
        meta=PageMeta(page=found.page, limit=found.limit, total=found.total, total_pages=found.total_pages),
    )
