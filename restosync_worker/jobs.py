"""RQ job functions: module-level, JSON arguments (ids), a few lines each. PostgreSQL decides the rest."""

from __future__ import annotations

import uuid

from restosync_adapters.logging import bind_context, clear_context
from restosync_core.model.ids import SyncJobId
from restosync_worker import runtime
from restosync_worker.cron import run_task


def deliver_order(sync_job_id: str) -> str:
    """Wake-up for one sync job: claim it in the database, call the agent, record the outcome."""
    clear_context()
    bind_context(sync_job_id=sync_job_id)
    services = runtime.current().services
    outcome = runtime.current().run(services.orders.deliver(SyncJobId(uuid.UUID(sync_job_id))))
    return outcome.value


def run_cron_task(name: str) -> str:
    """A cron tick: the named task, run at most once at a time across every worker."""
    clear_context()
    bind_context(cron_task=name)
    return str(runtime.current().run(run_task(name, runtime.current().services)))


def noop() -> None:
    """Does nothing: the bench measures bare RQ overhead with it."""
