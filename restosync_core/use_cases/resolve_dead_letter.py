"""Resolve a dead letter: an admin dealt with it by hand; written to the audit log."""

from __future__ import annotations

from dataclasses import dataclass, replace

from restosync_core.errors import NotFound
from restosync_core.model.audit import AuditEntry, RequestContext
from restosync_core.model.ids import DeadLetterId
from restosync_core.model.orders import DeadLetter
from restosync_core.ports.clock import Clock
from restosync_core.ports.unit_of_work import UnitOfWorkFactory


@dataclass(frozen=True, slots=True)
class ResolveDeadLetter:
    uow: UnitOfWorkFactory
    clock: Clock

    async def __call__(self, letter_id: DeadLetterId, context: RequestContext) -> DeadLetter:
        """Resolving a resolved letter changes nothing (and is still audited)."""
        now = self.clock.now()
        async with self.uow() as uow:
            letter = await uow.dead_letters.get(letter_id, for_update=True)
            if letter is None:
                raise NotFound(f"no dead letter {letter_id}")
            was_resolved = letter.resolved
            if not was_resolved:
                letter = replace(letter, resolved=True, resolved_at=now)
                await uow.dead_letters.save(letter)
            await uow.audit_log.record(
                AuditEntry(
                    action="dlq.resolve",
                    entity_type="dead_letter",
                    entity_id=str(letter.id),
                    context=context,
                    created_at=now,
                    details={"alreadyResolved": was_resolved},
                )
            )
        return letter
