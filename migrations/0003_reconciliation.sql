-- Reconciliation (issue 10, docs/reconciliation.md): key positions and deactivation on the catalogue,
-- the runs, and the events' link to their run.

-- ---------------------------------------------------------------- key positions
-- A row's position in the key-hash space (docs/agent-protocol.md#positions-and-ranges): the first 4 bytes
-- of SHA-256(UTF-8 sku), unsigned big-endian. The ingest upserts write it (computed in Python, the same
-- function as restosync_core.policies.reconciliation.position); this SQL twin backfills existing rows and
-- fills rows a release without the column inserts (a rollback: see the triggers below).
CREATE FUNCTION restosync_key_position(sku text) RETURNS bigint
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN ('x' || substr(encode(sha256(convert_to(sku, 'UTF8')), 'hex'), 1, 8))::bit(32)::bigint;

-- deactivated_at: set by reconciliation when the ERP no longer has the row (never deleted); NULL = live.
ALTER TABLE items ADD COLUMN key_position bigint, ADD COLUMN deactivated_at timestamptz;
ALTER TABLE stock ADD COLUMN key_position bigint, ADD COLUMN deactivated_at timestamptz;

UPDATE items SET key_position = restosync_key_position(sku);
UPDATE stock s SET key_position = restosync_key_position(i.sku) FROM items i WHERE i.id = s.item_id;

ALTER TABLE items ALTER COLUMN key_position SET NOT NULL;
ALTER TABLE stock ALTER COLUMN key_position SET NOT NULL;

-- The release before this one inserts rows without key_position: fill it instead of failing its pushes
-- (migrations stay backward compatible with the running release, docs/operations.md). The current code
-- always writes it, so the WHEN clause is false and the function never runs for its rows.
CREATE FUNCTION restosync_fill_key_position() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'items' THEN
        NEW.key_position := restosync_key_position(NEW.sku);
    ELSE
        NEW.key_position := (SELECT restosync_key_position(i.sku) FROM items i WHERE i.id = NEW.item_id);
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER items_fill_key_position BEFORE INSERT ON items
    FOR EACH ROW WHEN (NEW.key_position IS NULL) EXECUTE FUNCTION restosync_fill_key_position();
CREATE TRIGGER stock_fill_key_position BEFORE INSERT ON stock
    FOR EACH ROW WHEN (NEW.key_position IS NULL) EXECUTE FUNCTION restosync_fill_key_position();

-- Range checksums find the live rows of a vendor by position here. Not covering (no INCLUDE
-- (content_hash)): an index holding the hash would make every push's update of a row a non-HOT
-- update writing into every index of the table (measured: +0.5 ms of PostgreSQL CPU per 50-row push,
-- docs/decisions/0008-reconciliation-digests.md); key_position never changes once inserted.
CREATE INDEX items_live_position_idx ON items (vendor_id, key_position) WHERE deactivated_at IS NULL;
CREATE INDEX stock_live_position_idx ON stock (vendor_id, key_position) WHERE deactivated_at IS NULL;

-- ---------------------------------------------------------------- runs
CREATE TABLE reconciliation_runs (
    id              uuid PRIMARY KEY,
    vendor_id       text NOT NULL,
    scope           text NOT NULL CHECK (scope IN ('items', 'stock', 'all')),
    trigger         text NOT NULL CHECK (trigger IN ('schedule', 'admin')),
    status          text NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'stopped', 'skipped', 'failed')),
    confirmed       boolean NOT NULL DEFAULT false,
    correlation_id  uuid,
    requested_at    timestamptz NOT NULL,
    started_at      timestamptz,
    finished_at     timestamptz,
    duration_ms     integer NOT NULL DEFAULT 0,
    drift_found     integer NOT NULL DEFAULT 0,
    repaired        integer NOT NULL DEFAULT 0,
    agent_calls     integer NOT NULL DEFAULT 0,
    ranges_visited  integer NOT NULL DEFAULT 0,
    rows_compared   integer NOT NULL DEFAULT 0,
    reason          text,
    summary         jsonb NOT NULL DEFAULT '{}'::jsonb
);
-- One active run per vendor, whichever process asks.
CREATE UNIQUE INDEX reconciliation_runs_one_active_idx ON reconciliation_runs (vendor_id)
    WHERE status IN ('queued', 'running');
CREATE INDEX reconciliation_runs_vendor_finished_idx ON reconciliation_runs (vendor_id, finished_at DESC);
CREATE INDEX reconciliation_runs_finished_idx ON reconciliation_runs (finished_at);

-- ---------------------------------------------------------------- events
ALTER TABLE reconciliation_events
    ADD COLUMN run_id uuid REFERENCES reconciliation_runs (id) ON DELETE CASCADE;
CREATE INDEX reconciliation_events_run_idx ON reconciliation_events (run_id);
CREATE INDEX reconciliation_events_vendor_entity_created_idx
    ON reconciliation_events (vendor_id, entity, created_at DESC);
