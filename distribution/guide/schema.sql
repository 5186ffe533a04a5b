-- The SQLite tables and indexes of this package in each tenant database
-- (see Schema). Every statement is idempotent: it runs when a shop is
-- provisioned and again at start-up. A column added later is an
-- ALTER TABLE ... ADD COLUMN after its CREATE TABLE.

CREATE TABLE IF NOT EXISTS guide_stores (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    address TEXT NOT NULL,
    active INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id));

CREATE INDEX IF NOT EXISTS guide_stores_created ON guide_stores (tenant_id, created_at);

CREATE TABLE IF NOT EXISTS guides (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    phone TEXT NOT NULL,
    store_id TEXT NOT NULL,
    code TEXT NOT NULL,
    active INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    left_at TEXT NOT NULL DEFAULT '',
    handed_to TEXT NOT NULL DEFAULT '',
    rev INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id));

CREATE UNIQUE INDEX IF NOT EXISTS guides_code ON guides (tenant_id, code);

CREATE INDEX IF NOT EXISTS guides_store ON guides (tenant_id, store_id, name);

CREATE INDEX IF NOT EXISTS guides_name ON guides (tenant_id, name);

CREATE TABLE IF NOT EXISTS guide_days (
    tenant_id TEXT NOT NULL,
    guide_id TEXT NOT NULL,
    store_id TEXT NOT NULL,
    day TEXT NOT NULL,
    visits INTEGER NOT NULL DEFAULT 0,
    follows INTEGER NOT NULL DEFAULT 0,
    new_fans INTEGER NOT NULL DEFAULT 0,
    ordering_fans INTEGER NOT NULL DEFAULT 0,
    orders INTEGER NOT NULL DEFAULT 0,
    paid_gmv INTEGER NOT NULL DEFAULT 0,
    refunds INTEGER NOT NULL DEFAULT 0,
    refund_amount INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, guide_id, store_id, day));

ALTER TABLE guide_days ADD COLUMN first_orders INTEGER NOT NULL DEFAULT 0;

CREATE INDEX IF NOT EXISTS guide_days_guide ON guide_days (tenant_id, guide_id, day);

CREATE INDEX IF NOT EXISTS guide_days_store ON guide_days (tenant_id, store_id, day);

CREATE INDEX IF NOT EXISTS guide_days_day ON guide_days (tenant_id, day);

CREATE TABLE IF NOT EXISTS guide_marks (
    tenant_id TEXT NOT NULL,
    key TEXT NOT NULL,
    PRIMARY KEY (tenant_id, key));
