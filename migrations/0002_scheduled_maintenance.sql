-- Scheduled maintenance (REQ-10, docs/operations.md#scheduled-tasks).

-- One row per scheduled task and cron tick: the insert is the claim, so a task runs once per tick
-- however many schedulers and workers fire it. Rows older than 7 days are removed by the daily cleanup.
CREATE TABLE task_runs (
    task         text NOT NULL,
    tick         timestamptz NOT NULL,
    status       text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'done', 'failed')),
    detail       text,
    started_at   timestamptz NOT NULL,
    finished_at  timestamptz,
    PRIMARY KEY (task, tick)
);
CREATE INDEX task_runs_started_idx ON task_runs (started_at);

-- What the retention deletes and the undelivered-job check walk, oldest first, without scanning
-- the rows they keep.
CREATE INDEX sync_jobs_completed_at_idx ON sync_jobs (completed_at) WHERE status = 'completed';
CREATE INDEX sync_jobs_failed_updated_idx ON sync_jobs (updated_at) WHERE status = 'failed';
CREATE INDEX sync_jobs_unfinished_created_idx ON sync_jobs (created_at)
    WHERE status IN ('pending', 'processing', 'sent');
CREATE INDEX dead_letter_queue_resolved_at_idx ON dead_letter_queue (resolved_at) WHERE resolved;
CREATE INDEX dead_letter_queue_unresolved_vendor_idx ON dead_letter_queue (vendor_id, created_at) WHERE NOT resolved;
