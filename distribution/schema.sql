-- The SQLite tables and indexes of this package in each tenant database
-- (see Schema). Every statement is idempotent: it runs when a shop is
-- provisioned and again at start-up. A column added later is an
-- ALTER TABLE ... ADD COLUMN after its CREATE TABLE.

CREATE TABLE IF NOT EXISTS distribution_settings (
    tenant_id TEXT PRIMARY KEY,
    doc TEXT NOT NULL);

CREATE TABLE IF NOT EXISTS bindings (
    tenant_id TEXT NOT NULL,
    fan_id TEXT NOT NULL,
    guide_id TEXT NOT NULL DEFAULT '',
    guide_store TEXT NOT NULL DEFAULT '',
    guide_channel TEXT NOT NULL DEFAULT '',
    guide_at TEXT NOT NULL DEFAULT '',
    guide_until TEXT NOT NULL DEFAULT '',
    guide_protect TEXT NOT NULL DEFAULT '',
    distributor_id TEXT NOT NULL DEFAULT '',
    distributor_channel TEXT NOT NULL DEFAULT '',
    distributor_at TEXT NOT NULL DEFAULT '',
    distributor_until TEXT NOT NULL DEFAULT '',
    distributor_protect TEXT NOT NULL DEFAULT '',
    channel TEXT NOT NULL DEFAULT '',
    referrer_id TEXT NOT NULL DEFAULT '',
    paid_orders INTEGER NOT NULL DEFAULT 0,
    rev INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, fan_id));

CREATE INDEX IF NOT EXISTS bindings_guide ON bindings (tenant_id, guide_id, updated_at);

CREATE INDEX IF NOT EXISTS bindings_distributor ON bindings (tenant_id, distributor_id, updated_at);

CREATE TABLE IF NOT EXISTS binding_log (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    fan_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    doc TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id));

CREATE INDEX IF NOT EXISTS binding_log_fan ON binding_log (tenant_id, fan_id, at);

CREATE TABLE IF NOT EXISTS distribution_sales (
    tenant_id TEXT NOT NULL,
    order_id TEXT NOT NULL,
    fan_id TEXT NOT NULL,
    guide_id TEXT NOT NULL,
    store_id TEXT NOT NULL,
    distributor_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    base INTEGER NOT NULL,
    paid INTEGER NOT NULL,
    refunded INTEGER NOT NULL DEFAULT 0,
    refunded_base INTEGER NOT NULL DEFAULT 0,
    paid_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, order_id));

CREATE INDEX IF NOT EXISTS distribution_sales_distributor ON distribution_sales (tenant_id, distributor_id, paid_at);

CREATE TABLE IF NOT EXISTS distribution_marks (
    tenant_id TEXT NOT NULL,
    key TEXT NOT NULL,
    PRIMARY KEY (tenant_id, key));
