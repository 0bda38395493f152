"""Create one mapping; a (vendor, type, ERP code) that already exists, active or not, is a Conflict."""

from __future__ import annotations

from dataclasses import dataclass

from restosync_core.model.audit import NO_REQUEST, RequestContext
from restosync_core.model.ids import VendorId
from restosync_core.model.mappings import Mapping, NewMapping
from restosync_core.policies.mapping_rules import check_mapping
from restosync_core.ports.clock import Clock
from restosync_core.ports.mappings import MappingInvalidation
from restosync_core.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from restosync_core.use_cases._mapping_writes import mapping_entry, write_mappings


@dataclass(frozen=True, slots=True)
class CreateMapping:
    uow: UnitOfWorkFactory
    invalidation: MappingInvalidation
    clock: Clock

    async def __call__(self, new: NewMapping, *, context: RequestContext = NO_REQUEST) -> Mapping:
        """``context``: the request that asked, for the audit log (``mapping.created``)."""
        check_mapping(new)

        async def work(tx: UnitOfWork) -> tuple[Mapping, set[VendorId]]:
            created = await tx.mappings.create(new)
            await tx.audit_log.record(mapping_entry("mapping.created", created, context, self.clock.now()))
            return created, {new.vendor_id}

        return await write_mappings(self.uow, self.invalidation, work)
