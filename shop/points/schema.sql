-- The SQLite tables and indexes of this package in each tenant database
-- (see Schema). Every statement is idempotent: it runs when a shop is
-- provisioned and again at start-up. A column added later is an
-- ALTER TABLE ... ADD COLUMN after its CREATE TABLE.

CREATE TABLE IF NOT EXISTS points_rules (
    tenant_id TEXT PRIMARY KEY,
    doc TEXT NOT NULL);

CREATE TABLE IF NOT EXISTS points_accounts (
    tenant_id TEXT NOT NULL,
    fan_id TEXT NOT NULL,
    balance INTEGER NOT NULL DEFAULT 0 CHECK (balance >= 0),
    lots TEXT NOT NULL DEFAULT '[]',
    seq INTEGER NOT NULL DEFAULT 0,
    rev INTEGER NOT NULL DEFAULT 0,
    earned INTEGER NOT NULL DEFAULT 0,
    spent INTEGER NOT NULL DEFAULT 0,
    expired INTEGER NOT NULL DEFAULT 0,
    next_expiry TEXT NOT NULL DEFAULT '',
    reminded INTEGER NOT NULL DEFAULT 0,
    last_day TEXT NOT NULL DEFAULT '',
    streak INTEGER NOT NULL DEFAULT 0,
    days INTEGER NOT NULL DEFAULT 0,
    reminder INTEGER NOT NULL DEFAULT 0,
    reminded_day TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, fan_id));

CREATE INDEX IF NOT EXISTS points_accounts_expiry ON points_accounts (tenant_id, next_expiry);

CREATE INDEX IF NOT EXISTS points_accounts_remind ON points_accounts (tenant_id, reminded, next_expiry);

CREATE INDEX IF NOT EXISTS points_accounts_reminder ON points_accounts (tenant_id, reminder, reminded_day);

CREATE INDEX IF NOT EXISTS points_accounts_last_day ON points_accounts (tenant_id, last_day);

CREATE TABLE IF NOT EXISTS points_ledger (
    tenant_id TEXT NOT NULL,
    fan_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    key TEXT NOT NULL,
    kind TEXT NOT NULL,
    points INTEGER NOT NULL,
    balance INTEGER NOT NULL,
    moves TEXT NOT NULL,
    order_id TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT '',
    by_who TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT '',
    at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, fan_id, seq),
    UNIQUE (tenant_id, fan_id, key));

CREATE TABLE IF NOT EXISTS points_checkins (
    tenant_id TEXT NOT NULL,
    fan_id TEXT NOT NULL,
    day TEXT NOT NULL,
    at TEXT NOT NULL,
    streak INTEGER NOT NULL,
    days INTEGER NOT NULL,
    cycle TEXT NOT NULL,
    cycle_streak INTEGER NOT NULL,
    cycle_days INTEGER NOT NULL,
    base INTEGER NOT NULL,
    bonus INTEGER NOT NULL,
    cumulative INTEGER NOT NULL,
    applied INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, fan_id, day));

CREATE INDEX IF NOT EXISTS points_checkins_day ON points_checkins (tenant_id, day);

CREATE INDEX IF NOT EXISTS points_checkins_unapplied ON points_checkins (tenant_id, applied, at);

CREATE TABLE IF NOT EXISTS points_days (
    tenant_id TEXT NOT NULL,
    day TEXT NOT NULL,
    checkins INTEGER NOT NULL DEFAULT 0,
    points INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, day));

CREATE TABLE IF NOT EXISTS points_totals (
    tenant_id TEXT NOT NULL,
    shard INTEGER NOT NULL,
    outstanding INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, shard));
