"""RQ job functions: module-level, JSON arguments (ids), a few lines each. PostgreSQL decides the rest."""

from __future__ import annotations

import logging
import uuid

from restosync_adapters.logging import bind_context, clear_context
from restosync_core.errors import TransientError
from restosync_core.model.ids import SyncJobId
from restosync_worker import runtime
from restosync_worker.cron import run_scheduled_task

log = logging.getLogger(__name__)


def deliver_order(sync_job_id: str) -> str:
    """Wake-up for one sync job: claim it in the database, call the agent, record the outcome.

    PostgreSQL or Redis being down is not this wake-up's failure: it ends normally (so RQ forgets
    its id) and the sweeper wakes the job again once they are back.
    """
    bind_context(sync_job_id=sync_job_id)
    services = runtime.current().services
    try:
        outcome = runtime.current().run(services.deliver_order(SyncJobId(uuid.UUID(sync_job_id))))
    except TransientError as exc:
        log.warning("sync job %s not delivered now (%s); the sweeper will wake it again", sync_job_id, exc)
        return "transient_error"
    finally:
        clear_context()  # RQ's own lines about the next job must not carry this one's id
    return outcome.value


def run_cron_task(name: str) -> str:
    """A cron tick: the named task, run once per tick across every scheduler and worker."""
    bind_context(cron_task=name)
    try:
        return str(runtime.current().run(run_scheduled_task(name, runtime.current().services)))
    finally:
        clear_context()
