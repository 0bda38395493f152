"""Update one mapping (PUT): the fields given change, the others keep their stored values.

Only what the request names changes (``restoCode``, ``restoLabel``, ``isActive``,
and, to move a mapping, ``vendorId``, ``mappingType`` or ``erpCode``); the result
is checked like a new mapping. The row is read and written under a lock, so two
partial updates of one mapping never lose each other's fields. The old and new
vendors' caches are invalidated; the change is audited (``mapping.updated``, with
the mapping before and after).
"""

from __future__ import annotations

from dataclasses import dataclass

from restosync_core.errors import NotFound, ValidationFailed
from restosync_core.model.audit import NO_REQUEST, RequestContext
from restosync_core.model.ids import MappingId, VendorId
from restosync_core.model.mappings import Mapping, MappingChanges
from restosync_core.policies.mapping_rules import check_mapping
from restosync_core.ports.clock import Clock
from restosync_core.ports.mappings import MappingInvalidation
from restosync_core.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from restosync_core.use_cases._mapping_writes import mapping_details, mapping_entry, write_mappings

NOTHING_TO_CHANGE = "nothing to change: send restoCode, restoLabel and/or isActive"


@dataclass(frozen=True, slots=True)
class UpdateMapping:
    uow: UnitOfWorkFactory
    invalidation: MappingInvalidation
    clock: Clock

    async def __call__(
        self, mapping_id: MappingId, changes: MappingChanges, *, context: RequestContext = NO_REQUEST
    ) -> Mapping:
        """``NotFound`` for an unknown id; ``Conflict`` when a moved key belongs to another mapping."""
        if changes.is_empty:
            raise ValidationFailed(NOTHING_TO_CHANGE, path="$")

        async def work(tx: UnitOfWork) -> tuple[Mapping, set[VendorId]]:
            current = await tx.mappings.get(mapping_id, for_update=True)
            if current is None:
                raise NotFound(f"no mapping with id {mapping_id}")
            new = changes.applied_to(current)
            check_mapping(new)
            replaced = await tx.mappings.replace(mapping_id, new)
            if replaced is None:  # pragma: no cover - the row is locked above
                raise NotFound(f"no mapping with id {mapping_id}")
            before, after = replaced
            await tx.audit_log.record(
                mapping_entry("mapping.updated", after, context, self.clock.now(), before=mapping_details(before))
            )
            return after, {before.vendor_id, after.vendor_id}

        return await write_mappings(self.uow, self.invalidation, work)
