-- The SQLite tables and indexes of this package in each tenant database
-- (see Schema). Every statement is idempotent: it runs when a shop is
-- provisioned and again at start-up. A column added later is an
-- ALTER TABLE ... ADD COLUMN after its CREATE TABLE.

CREATE TABLE IF NOT EXISTS wechat_settings (
    tenant_id TEXT PRIMARY KEY,
    app_id TEXT NOT NULL,
    app_secret TEXT NOT NULL,
    token TEXT NOT NULL,
    aes_key TEXT NOT NULL,
    prev_aes_key TEXT NOT NULL,
    mode TEXT NOT NULL,
    welcome TEXT NOT NULL,
    sandbox INTEGER NOT NULL,
    rev INTEGER NOT NULL,
    updated_at TEXT NOT NULL);

CREATE TABLE IF NOT EXISTS wechat_qrcodes (
    tenant_id TEXT NOT NULL,
    scene TEXT NOT NULL,
    permanent INTEGER NOT NULL,
    ticket TEXT NOT NULL,
    url TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, scene, permanent));

CREATE INDEX IF NOT EXISTS wechat_qrcodes_created ON wechat_qrcodes (tenant_id, created_at);

CREATE INDEX IF NOT EXISTS wechat_qrcodes_permanent ON wechat_qrcodes (tenant_id, permanent);
