"""RQ job functions: module-level, JSON arguments (ids), a few lines each. PostgreSQL decides the rest."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Coroutine
from typing import Any, TypeVar

from restosync_adapters.logging import bind_context, clear_context
from restosync_adapters.prometheus import count_delivery
from restosync_core.errors import NotFound, TransientError
from restosync_core.model.ids import SyncJobId
from restosync_core.model.reconciliation import RunId
from restosync_worker import runtime
from restosync_worker.cron import run_scheduled_task

log = logging.getLogger(__name__)
T = TypeVar("T")

TRANSIENT_ERROR = "transient_error"
DELIVERY_ERROR = "error"
"""Delivery outcomes besides the core's ``DeliveryOutcome`` (``restosync_order_deliveries_total``)."""


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
        count_delivery(TRANSIENT_ERROR)
        return TRANSIENT_ERROR
    except BaseException:
        count_delivery(DELIVERY_ERROR)  # a bug, or RQ's timeout: RQ records the failure, the sweeper retries
        raise
    finally:
        clear_context()  # RQ's own lines about the next job must not carry this one's id
    count_delivery(outcome.value)
    return outcome.value


def reconcile(run_id: str) -> str:
    """Wake-up for one reconciliation run: look up its vendor, run it; the run's final status.

    ``"not_claimed"`` when the run was not started here (already run, another run of its vendor
    holds the lock, or no such run). PostgreSQL or Redis being down ends the job normally: the run
    stays in PostgreSQL and a later trigger or drift detection takes it up again.
    """
    bind_context(reconciliation_run=run_id)
    services = runtime.current().services
    rid = RunId(uuid.UUID(run_id))
    try:
        run = _run_to_the_end(services.get_reconciliation_run(rid))
        finished = _run_to_the_end(services.run_reconciliation(rid, run.vendor_id))
    except NotFound:
        log.warning("reconciliation run %s does not exist; nothing to run", run_id)
        return "not_claimed"
    except TransientError as exc:
        log.warning("reconciliation run %s not run now (%s); it stays in PostgreSQL", run_id, exc)
        return "transient_error"
    finally:
        clear_context()
    return "not_claimed" if finished is None else finished.status.value


def _run_to_the_end(coro: Coroutine[Any, Any, T]) -> T:
    """``runtime.run``, except that a job timeout (RQ's alarm, raised wherever the loop is) cancels
    the coroutine instead of leaving it on the loop to carry on during the next job."""
    loop = runtime.current().loop
    task = loop.create_task(coro)
    try:
        return loop.run_until_complete(task)
    except BaseException:
        if not task.done():
            task.cancel()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                loop.run_until_complete(task)
        raise


def run_cron_task(name: str) -> str:
    """A cron tick: the named task, run once per tick across every scheduler and worker."""
    bind_context(cron_task=name)
    try:
        return str(runtime.current().run(run_scheduled_task(name, runtime.current().services)))
    finally:
        clear_context()
