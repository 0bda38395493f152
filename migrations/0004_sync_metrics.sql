-- Per-vendor sync metrics (issue 12, REQ-11; docs/performance.md#per-vendor-sync-metrics).

-- ---------------------------------------------------------------- push counters
-- One row per vendor, entity, UTC hour and row outcome ('processed', a skip or failure reason of
-- docs/agent-protocol.md, or 'all' for the push as a whole): `pushes` counts the pushes that had rows of
-- that outcome, `rows` their rows. Each push is counted after it is stored
-- (restosync_core.use_cases.ingest_pipeline.count_push); each API process adds its counts up and writes
-- them once a second in one upsert (restosync_adapters.postgres.metrics). Kept 8 days by the daily cleanup.
CREATE TABLE ingest_counts (
    vendor_id  text NOT NULL,
    entity     text NOT NULL CHECK (entity IN ('items', 'stock', 'warehouses')),
    hour       timestamptz NOT NULL CHECK (date_trunc('hour', hour, 'UTC') = hour),
    outcome    text NOT NULL,
    pushes     bigint NOT NULL DEFAULT 0,
    rows       bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (vendor_id, hour, entity, outcome)
);
-- What the cleanup deletes, oldest first (pushes never change `hour`, so their updates stay HOT).
CREATE INDEX ingest_counts_hour_idx ON ingest_counts (hour);

-- ---------------------------------------------------------------- deliveries in a window
-- The metrics read one vendor's jobs created since the window's start: a range of this index, then
-- the rows. Not covering (INCLUDE (status, attempts, sent_at, completed_at, job_type) was measured: a
-- quarter of the pages read, but the index 4 times the size, written at every state change of every job,
-- for a read admins make now and then; docs/performance.md#per-vendor-sync-metrics).
-- Not CONCURRENTLY: migrations run in a transaction, which refuses it; this blocks writes to sync_jobs
-- while it builds (about a second per million rows here). On a large table, build it by hand first with
-- CREATE INDEX CONCURRENTLY and the same name: IF NOT EXISTS then leaves it be.
CREATE INDEX IF NOT EXISTS sync_jobs_vendor_created_idx ON sync_jobs (vendor_id, created_at);
