"""Pagination shared by every list (REQ-14): ``?page=&limit=``, limit at most 100, page at most 1,000,000.

The one place both bounds are checked; the HTTP shell builds a ``PageRequest``
from the query string and lets this refuse what is out of range.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Generic, TypeVar

from restosync_core.errors import ValidationFailed

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 100
MAX_PAGE = 1_000_000
"""Far beyond any list we hold, and small enough that ``(page - 1) * limit`` stays an ordinary SQL bigint."""


@dataclass(frozen=True, slots=True)
class PageRequest:
    page: int = 1
    limit: int = DEFAULT_LIMIT

    def __post_init__(self) -> None:
        if not 1 <= self.page <= MAX_PAGE:
            raise ValidationFailed(f"page must be between 1 and {MAX_PAGE}", path="page")
        if not 1 <= self.limit <= MAX_LIMIT:
            raise ValidationFailed(f"limit must be between 1 and {MAX_LIMIT}", path="limit")

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.limit


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    page: int
    limit: int
    total: int

    @property
    def total_pages(self) -> int:
        return math.ceil(self.total / self.limit) if self.total else 0
