"""Delete one mapping: the row goes (ingest sees the code as unmapped), the audit log keeps what it was.

Deactivating is an update (``isActive: false``) and keeps the row; deleting
removes it, so a later read of the id is a 404 and the same key can be created
again. The audit entry (``mapping.deleted``) holds every field of the removed
mapping. Deleting an unknown (or already deleted) id is ``NotFound``.
"""

from __future__ import annotations

from dataclasses import dataclass

from restosync_core.errors import NotFound
from restosync_core.model.audit import NO_REQUEST, RequestContext
from restosync_core.model.ids import MappingId, VendorId
from restosync_core.model.mappings import Mapping
from restosync_core.ports.clock import Clock
from restosync_core.ports.mappings import MappingInvalidation
from restosync_core.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from restosync_core.use_cases._mapping_writes import mapping_entry, write_mappings


@dataclass(frozen=True, slots=True)
class DeleteMapping:
    uow: UnitOfWorkFactory
    invalidation: MappingInvalidation
    clock: Clock

    async def __call__(self, mapping_id: MappingId, *, context: RequestContext = NO_REQUEST) -> Mapping:
        """The mapping as it was before it went."""

        async def work(tx: UnitOfWork) -> tuple[Mapping, set[VendorId]]:
            deleted = await tx.mappings.delete(mapping_id)
            if deleted is None:
                raise NotFound(f"no mapping with id {mapping_id}")
            await tx.audit_log.record(mapping_entry("mapping.deleted", deleted, context, self.clock.now()))
            return deleted, {deleted.vendor_id}

        return await write_mappings(self.uow, self.invalidation, work)
