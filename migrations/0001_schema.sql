-- restosync schema: catalogue tables fed by agents, orders, and the five sync tables of REQ-2.
-- Conventions: UUID primary keys (gen_random_uuid, built into PostgreSQL 13+), snake_case,
-- timestamptz everywhere, an index on every foreign key and status column.

CREATE TYPE agent_status AS ENUM ('online', 'degraded', 'offline');
CREATE TYPE mapping_type AS ENUM ('unit', 'vat', 'family', 'subfamily');
CREATE TYPE order_status AS ENUM ('pending', 'synced', 'failed');
CREATE TYPE sync_job_status AS ENUM ('pending', 'processing', 'sent', 'completed', 'failed');
CREATE TYPE reconciliation_event_type AS ENUM ('drift_check', 'drift_detected', 'conflict_resolved', 'error');

-- ---------------------------------------------------------------- agents
CREATE TABLE agent_registry (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    vendor_id          text NOT NULL UNIQUE,
    agent_url          text NOT NULL,
    auth_token_hash    text NOT NULL,
    version            text,
    status             agent_status NOT NULL DEFAULT 'online',
    status_changed_at  timestamptz NOT NULL DEFAULT now(),
    last_heartbeat_at  timestamptz,
    settings           jsonb NOT NULL DEFAULT '{}'::jsonb,
    registered_at      timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX agent_registry_status_idx ON agent_registry (status);
CREATE INDEX agent_registry_last_heartbeat_idx ON agent_registry (last_heartbeat_at);

-- ---------------------------------------------------------------- ERP code mappings
CREATE TABLE erp_code_mappings (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    vendor_id     text NOT NULL,
    mapping_type  mapping_type NOT NULL,
    erp_code      text NOT NULL,
    resto_code    text NOT NULL,
    resto_label   text,
    is_active     boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT erp_code_mappings_vendor_type_code_key UNIQUE (vendor_id, mapping_type, erp_code)
);
CREATE INDEX erp_code_mappings_active_idx ON erp_code_mappings (vendor_id, mapping_type, is_active);

-- ---------------------------------------------------------------- catalogue (ERP -> DB)
CREATE TABLE warehouses (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    vendor_id         text NOT NULL,
    erp_warehouse_id  text NOT NULL,
    name              text NOT NULL,
    address           text,
    active            boolean NOT NULL DEFAULT true,
    content_hash      text NOT NULL,
    erp_updated_at    timestamptz NOT NULL,   -- the ERP's updatedAt, for staleness
    last_synced_at    timestamptz NOT NULL DEFAULT now(),
    created_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT warehouses_vendor_erp_id_key UNIQUE (vendor_id, erp_warehouse_id)
);
CREATE INDEX warehouses_active_idx ON warehouses (vendor_id, active);

CREATE TABLE items (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    vendor_id           text NOT NULL,
    sku                 text NOT NULL,
    name                text NOT NULL,
    description         text,
    erp_unit_code       text NOT NULL,
    unit_code           text NOT NULL,        -- RestoMarket's code, from the unit mapping
    erp_vat_code        text NOT NULL,
    vat_code            text NOT NULL,        -- RestoMarket's code, from the vat mapping
    erp_family_code     text,
    family_code         text,                 -- null when the ERP family has no mapping
    erp_subfamily_code  text,
    subfamily_code      text,
    price               numeric(14, 4) NOT NULL CHECK (price >= 0),
    barcode             text,
    active              boolean NOT NULL DEFAULT true,
    content_hash        text NOT NULL,
    erp_updated_at      timestamptz NOT NULL,
    last_synced_at      timestamptz NOT NULL DEFAULT now(),
    created_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT items_vendor_sku_key UNIQUE (vendor_id, sku)
);
CREATE INDEX items_active_idx ON items (vendor_id, active);

CREATE TABLE stock (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    vendor_id       text NOT NULL,
    item_id         uuid NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    warehouse_id    uuid NOT NULL REFERENCES warehouses (id) ON DELETE CASCADE,
    quantity        numeric(18, 4) NOT NULL,
    content_hash    text NOT NULL,
    erp_updated_at  timestamptz NOT NULL,
    last_synced_at  timestamptz NOT NULL DEFAULT now(),
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT stock_vendor_warehouse_item_key UNIQUE (vendor_id, warehouse_id, item_id)
);
CREATE INDEX stock_item_idx ON stock (item_id);
CREATE INDEX stock_warehouse_idx ON stock (warehouse_id);

-- ---------------------------------------------------------------- orders (DB -> ERP)
CREATE TABLE orders (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    vendor_id      text NOT NULL,
    order_number   text NOT NULL,
    status         order_status NOT NULL DEFAULT 'pending',
    erp_reference  text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT orders_vendor_number_key UNIQUE (vendor_id, order_number)
);
CREATE INDEX orders_status_idx ON orders (status);
CREATE INDEX orders_vendor_created_idx ON orders (vendor_id, created_at DESC);

CREATE TABLE order_lines (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    order_id    uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    line_no     integer NOT NULL,
    sku         text NOT NULL,
    quantity    numeric(18, 4) NOT NULL CHECK (quantity > 0),
    unit_price  numeric(14, 4) NOT NULL CHECK (unit_price >= 0),
    CONSTRAINT order_lines_order_line_key UNIQUE (order_id, line_no)
);
CREATE INDEX order_lines_order_idx ON order_lines (order_id);

CREATE TABLE sync_jobs (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    order_id         uuid REFERENCES orders (id) ON DELETE SET NULL,
    vendor_id        text NOT NULL,
    job_type         text NOT NULL,
    status           sync_job_status NOT NULL DEFAULT 'pending',
    payload          jsonb NOT NULL,
    attempts         integer NOT NULL DEFAULT 0,
    max_attempts     integer NOT NULL DEFAULT 5,
    next_attempt_at  timestamptz,             -- when a pending job is due, or a sent job's callback is overdue
    claimed_by       text,
    claimed_until    timestamptz,             -- a processing job's claim; past it the sweeper takes it back
    correlation_id   uuid NOT NULL DEFAULT gen_random_uuid(),
    erp_reference    text,
    last_error       text,
    sent_at          timestamptz,
    completed_at     timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sync_jobs_order_idx ON sync_jobs (order_id);
CREATE INDEX sync_jobs_status_idx ON sync_jobs (status);
CREATE INDEX sync_jobs_vendor_status_created_idx ON sync_jobs (vendor_id, status, created_at DESC);
CREATE INDEX sync_jobs_status_due_idx ON sync_jobs (status, next_attempt_at);
CREATE INDEX sync_jobs_status_claim_idx ON sync_jobs (status, claimed_until);
CREATE INDEX sync_jobs_created_idx ON sync_jobs (created_at DESC);

CREATE TABLE dead_letter_queue (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    sync_job_id   uuid REFERENCES sync_jobs (id) ON DELETE SET NULL,
    vendor_id     text NOT NULL,
    job_type      text NOT NULL,
    payload       jsonb NOT NULL,
    last_error    text,
    attempts      integer NOT NULL,
    resolved      boolean NOT NULL DEFAULT false,
    resolved_at   timestamptz,
    retry_count   integer NOT NULL DEFAULT 0,
    last_retried_at timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dead_letter_queue_sync_job_idx ON dead_letter_queue (sync_job_id);
CREATE INDEX dead_letter_queue_resolved_created_idx ON dead_letter_queue (resolved, created_at DESC);
CREATE INDEX dead_letter_queue_vendor_resolved_idx ON dead_letter_queue (vendor_id, resolved);

CREATE TABLE audit_log (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    action          text NOT NULL,
    entity_type     text NOT NULL,
    entity_id       text NOT NULL,
    request_id      text,
    client_address  text,
    details         jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_entity_idx ON audit_log (entity_type, entity_id);
CREATE INDEX audit_log_created_idx ON audit_log (created_at DESC);

-- ---------------------------------------------------------------- reconciliation
CREATE TABLE reconciliation_events (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    vendor_id    text NOT NULL,
    event_type   reconciliation_event_type NOT NULL,
    entity       text NOT NULL,
    summary      jsonb NOT NULL DEFAULT '{}'::jsonb,
    duration_ms  integer NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reconciliation_events_vendor_created_idx ON reconciliation_events (vendor_id, created_at DESC);
CREATE INDEX reconciliation_events_type_idx ON reconciliation_events (event_type);
CREATE INDEX reconciliation_events_created_idx ON reconciliation_events (created_at);
