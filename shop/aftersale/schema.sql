-- The SQLite tables and indexes of this package in each tenant database
-- (see Schema). Every statement is idempotent: it runs when a shop is
-- provisioned and again at start-up.

-- One row per request: the queried fields as columns, the whole request
-- as JSON (doc). rev grows with every write (each change is conditional
-- on it); due_at is '' when no deadline runs.
CREATE TABLE IF NOT EXISTS aftersales (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    order_id TEXT NOT NULL,
    fan_id TEXT NOT NULL,
    status TEXT NOT NULL,
    rev INTEGER NOT NULL DEFAULT 0,
    due_at TEXT NOT NULL DEFAULT '',
    refund_status TEXT NOT NULL DEFAULT '',
    queued INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id));

CREATE INDEX IF NOT EXISTS aftersales_order ON aftersales (tenant_id, order_id);

CREATE INDEX IF NOT EXISTS aftersales_status ON aftersales (tenant_id, status, created_at);

CREATE INDEX IF NOT EXISTS aftersales_created ON aftersales (tenant_id, created_at);

CREATE INDEX IF NOT EXISTS aftersales_due ON aftersales (tenant_id, due_at);

CREATE INDEX IF NOT EXISTS aftersales_refund ON aftersales (tenant_id, refund_status, updated_at);

-- The order lines open requests hold: one row per line, so a second open
-- request on a line is a unique violation. Written in the transaction that
-- inserts the request, deleted in the one that ends it.
CREATE TABLE IF NOT EXISTS aftersale_claims (
    tenant_id TEXT NOT NULL,
    order_id TEXT NOT NULL,
    line INTEGER NOT NULL,
    request_id TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, order_id, line));

CREATE INDEX IF NOT EXISTS aftersale_claims_request ON aftersale_claims (tenant_id, request_id);

CREATE TABLE IF NOT EXISTS aftersale_messages (
    tenant_id TEXT NOT NULL,
    request_id TEXT NOT NULL,
    id TEXT NOT NULL,
    author TEXT NOT NULL,
    text TEXT NOT NULL,
    images TEXT NOT NULL DEFAULT '[]',
    at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, request_id, id));

CREATE TABLE IF NOT EXISTS aftersale_settings (
    tenant_id TEXT PRIMARY KEY,
    doc TEXT NOT NULL);
