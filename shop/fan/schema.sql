-- The SQLite tables and indexes of this package in each tenant database
-- (see Schema). Every statement is idempotent: it runs when a shop is
-- provisioned and again at start-up. A column added later is an
-- ALTER TABLE ... ADD COLUMN after its CREATE TABLE.

CREATE TABLE IF NOT EXISTS fans (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    openid TEXT NOT NULL DEFAULT '',
    subscribed INTEGER NOT NULL DEFAULT 0,
    source TEXT NOT NULL DEFAULT '',
    first_scene TEXT NOT NULL DEFAULT '',
    scene TEXT NOT NULL DEFAULT '',
    subscribed_at TEXT NOT NULL DEFAULT '',
    unsubscribed_at TEXT NOT NULL DEFAULT '',
    last_message_at TEXT NOT NULL DEFAULT '',
    last_event_at TEXT NOT NULL DEFAULT '',
    last_push_at TEXT NOT NULL DEFAULT '',
    replies_msg INTEGER NOT NULL DEFAULT 0,
    replies_event INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id));

-- Columns added after the first release (see engine.Schema).
ALTER TABLE fans ADD COLUMN first_scene TEXT NOT NULL DEFAULT '';

ALTER TABLE fans ADD COLUMN scene TEXT NOT NULL DEFAULT '';

ALTER TABLE fans ADD COLUMN subscribed_at TEXT NOT NULL DEFAULT '';

ALTER TABLE fans ADD COLUMN unsubscribed_at TEXT NOT NULL DEFAULT '';

ALTER TABLE fans ADD COLUMN last_message_at TEXT NOT NULL DEFAULT '';

ALTER TABLE fans ADD COLUMN last_event_at TEXT NOT NULL DEFAULT '';

ALTER TABLE fans ADD COLUMN last_push_at TEXT NOT NULL DEFAULT '';

ALTER TABLE fans ADD COLUMN replies_msg INTEGER NOT NULL DEFAULT 0;

ALTER TABLE fans ADD COLUMN replies_event INTEGER NOT NULL DEFAULT 0;

CREATE INDEX IF NOT EXISTS fans_openid ON fans (tenant_id, openid);

CREATE INDEX IF NOT EXISTS fans_created ON fans (tenant_id, created_at);

CREATE INDEX IF NOT EXISTS fans_subscribed ON fans (tenant_id, subscribed, created_at);

CREATE INDEX IF NOT EXISTS fans_source ON fans (tenant_id, source, created_at);

-- The shop's fan count (Store.Count), moved by these triggers in the
-- transaction of every insert and delete of a fan, so no page counts the
-- fans. A database from before the counter counts them once, here.
CREATE TABLE IF NOT EXISTS fan_counts (
    tenant_id TEXT PRIMARY KEY,
    fans INTEGER NOT NULL DEFAULT 0);

CREATE TRIGGER IF NOT EXISTS fans_count_insert AFTER INSERT ON fans BEGIN
    INSERT INTO fan_counts (tenant_id, fans) VALUES (NEW.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET fans = fans + 1; END;

CREATE TRIGGER IF NOT EXISTS fans_count_delete AFTER DELETE ON fans BEGIN
    UPDATE fan_counts SET fans = fans - 1 WHERE tenant_id = OLD.tenant_id; END;

INSERT INTO fan_counts (tenant_id, fans) SELECT tenant_id, count(*) FROM fans
    WHERE NOT EXISTS (SELECT 1 FROM fan_counts) GROUP BY tenant_id;

CREATE TABLE IF NOT EXISTS fan_messages (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    fan_id TEXT NOT NULL,
    direction TEXT NOT NULL,
    kind TEXT NOT NULL,
    content TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id));

CREATE INDEX IF NOT EXISTS fan_messages_fan ON fan_messages (tenant_id, fan_id, created_at);

CREATE TABLE IF NOT EXISTS fan_aliases (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    into_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id));

CREATE TABLE IF NOT EXISTS wechat_pushes (
    tenant_id TEXT NOT NULL,
    key TEXT NOT NULL,
    openid TEXT NOT NULL,
    kind TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, key));

CREATE INDEX IF NOT EXISTS wechat_pushes_created ON wechat_pushes (tenant_id, created_at);
