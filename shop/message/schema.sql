-- The SQLite tables and indexes of this package in each tenant database
-- (see Schema). Every statement is idempotent: it runs when a shop is
-- provisioned and again at start-up. A column added later is an
-- ALTER TABLE ... ADD COLUMN after its CREATE TABLE.

CREATE TABLE IF NOT EXISTS audience (
    tenant_id TEXT NOT NULL,
    fan_id TEXT NOT NULL,
    openid TEXT NOT NULL DEFAULT '',
    subscribed INTEGER NOT NULL DEFAULT 0,
    tags TEXT NOT NULL DEFAULT '[]',
    guide_id TEXT NOT NULL DEFAULT '',
    store_id TEXT NOT NULL DEFAULT '',
    distributor_id TEXT NOT NULL DEFAULT '',
    orders INTEGER NOT NULL DEFAULT 0,
    last_active_at TEXT NOT NULL DEFAULT '',
    points INTEGER NOT NULL DEFAULT 0,
    streak INTEGER NOT NULL DEFAULT 0,
    last_checkin_day TEXT NOT NULL DEFAULT '',
    opted_out INTEGER NOT NULL DEFAULT 0,
    mass_month TEXT NOT NULL DEFAULT '',
    mass_count INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, fan_id));

CREATE INDEX IF NOT EXISTS audience_subscribed ON audience (tenant_id, subscribed, fan_id);

CREATE INDEX IF NOT EXISTS audience_guide ON audience (tenant_id, guide_id);

CREATE INDEX IF NOT EXISTS audience_store ON audience (tenant_id, store_id);

CREATE INDEX IF NOT EXISTS audience_distributor ON audience (tenant_id, distributor_id);

CREATE INDEX IF NOT EXISTS audience_by_orders ON audience (tenant_id, orders);

CREATE INDEX IF NOT EXISTS audience_active ON audience (tenant_id, last_active_at);

CREATE INDEX IF NOT EXISTS audience_points ON audience (tenant_id, points);

CREATE INDEX IF NOT EXISTS audience_checkin ON audience (tenant_id, last_checkin_day);

CREATE TABLE IF NOT EXISTS audience_tags (
    tenant_id TEXT NOT NULL,
    fan_id TEXT NOT NULL,
    tag TEXT NOT NULL,
    PRIMARY KEY (tenant_id, fan_id, tag));

CREATE INDEX IF NOT EXISTS audience_tags_tag ON audience_tags (tenant_id, tag, fan_id);

CREATE TABLE IF NOT EXISTS audience_orders (
    tenant_id TEXT NOT NULL,
    fan_id TEXT NOT NULL,
    order_id TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, fan_id, order_id));

CREATE TABLE IF NOT EXISTS segments (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    rule TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id));

CREATE INDEX IF NOT EXISTS segments_created ON segments (tenant_id, created_at);

CREATE TABLE IF NOT EXISTS campaigns (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    doc TEXT NOT NULL,
    status TEXT NOT NULL,
    scheduled_at TEXT NOT NULL,
    cursor TEXT NOT NULL DEFAULT '',
    materialized INTEGER NOT NULL DEFAULT 0,
    recipients INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    started_at TEXT NOT NULL DEFAULT '',
    finished_at TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, id));

CREATE INDEX IF NOT EXISTS campaigns_created ON campaigns (tenant_id, created_at);

CREATE INDEX IF NOT EXISTS campaigns_status ON campaigns (tenant_id, status, scheduled_at);

CREATE TABLE IF NOT EXISTS deliveries (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    campaign_id TEXT NOT NULL,
    fan_id TEXT NOT NULL,
    status TEXT NOT NULL,
    channel TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT '',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at TEXT NOT NULL,
    batch TEXT NOT NULL DEFAULT '',
    claimed_at TEXT NOT NULL DEFAULT '',
    notice TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    done_at TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, id));

CREATE INDEX IF NOT EXISTS deliveries_campaign ON deliveries (tenant_id, campaign_id, status, id);

CREATE INDEX IF NOT EXISTS deliveries_claimed ON deliveries (tenant_id, status, claimed_at);

CREATE INDEX IF NOT EXISTS deliveries_batch ON deliveries (tenant_id, campaign_id, batch);

CREATE TABLE IF NOT EXISTS inbox (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    fan_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    url TEXT NOT NULL DEFAULT '',
    image TEXT NOT NULL DEFAULT '',
    channel TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id));

CREATE INDEX IF NOT EXISTS inbox_fan ON inbox (tenant_id, fan_id, created_at);

CREATE TABLE IF NOT EXISTS message_settings (
    tenant_id TEXT NOT NULL,
    name TEXT NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (tenant_id, name));
