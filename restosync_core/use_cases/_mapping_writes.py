"""The one way mapping writes end: commit, and tell every process's resolver cache.

The vendors' generations change twice. Once *inside* the transaction, before
it commits: if Redis cannot be reached the write fails closed (rolled back,
503) instead of leaving other processes on an answer they cannot know is
stale. Once more *after* the commit: a process that read the first new
generation and then the pre-commit rows must not keep them, so the second
change is what makes "the next lookup sees the write" strict. Should that
second change fail (Redis lost in the instant between the two), the write
stands and the failure is logged; repeating the same write repairs it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection
from typing import TypeVar

from restosync_core.errors import DependencyUnavailable
from restosync_core.model.ids import VendorId
from restosync_core.ports.mappings import MappingInvalidation, MappingRepository
from restosync_core.ports.unit_of_work import UnitOfWorkFactory

log = logging.getLogger(__name__)

T = TypeVar("T")

MappingWork = Callable[[MappingRepository], Awaitable[tuple[T, Collection[VendorId]]]]
"""Does the writes; answers its result and the vendors whose mappings it touched."""


async def write_mappings(uow: UnitOfWorkFactory, invalidation: MappingInvalidation, work: MappingWork[T]) -> T:
    async with uow() as tx:
        result, vendors = await work(tx.mappings)
        if vendors:
            await invalidation.invalidate(vendors)
    if vendors:
        try:
            await invalidation.invalidate(vendors)
        except DependencyUnavailable:
            log.error(
                "mapping write committed but the post-commit invalidation failed for %s; "
                "repeat the write once Redis is back",
                sorted(vendors),
            )
    return result
