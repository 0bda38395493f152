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
from datetime import datetime
from typing import TypeVar

from restosync_core.errors import DependencyUnavailable
from restosync_core.model.audit import AuditEntry, RequestContext
from restosync_core.model.ids import VendorId
from restosync_core.model.mappings import Mapping
from restosync_core.ports.mappings import MappingInvalidation
from restosync_core.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

T = TypeVar("T")

MappingWork = Callable[[UnitOfWork], Awaitable[tuple[T, Collection[VendorId]]]]
"""Does the writes (``uow.mappings``, and its ``uow.audit_log`` entry); answers its result and the vendors
whose mappings it touched."""


async def write_mappings(uow: UnitOfWorkFactory, invalidation: MappingInvalidation, work: MappingWork[T]) -> T:
    async with uow() as tx:
        result, vendors = await work(tx)
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


def mapping_entry(action: str, mapping: Mapping, context: RequestContext, now: datetime,
                  **details: object) -> AuditEntry:
    """The audit log entry of a write to one mapping (``mapping.created``, ``.updated``, ``.deleted``)."""
    return AuditEntry(
        action=action,
        entity_type="mapping",
        entity_id=str(mapping.id),
        context=context,
        created_at=now,
        details={"mapping": mapping_details(mapping), **details},
    )


def mapping_details(mapping: Mapping) -> dict[str, object]:
    """A mapping as the audit log keeps it (the wire's names): enough to recreate a deleted one."""
    return {
        "vendorId": mapping.vendor_id,
        "mappingType": mapping.mapping_type.value,
        "erpCode": mapping.erp_code,
        "restoCode": mapping.resto_code,
        "restoLabel": mapping.resto_label,
        "isActive": mapping.is_active,
    }
