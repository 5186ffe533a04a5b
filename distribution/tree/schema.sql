-- The SQLite tables and indexes of this package in each tenant database
-- (see Schema). Every statement is idempotent: it runs when a shop is
-- provisioned and again at start-up. A column added later is an
-- ALTER TABLE ... ADD COLUMN after its CREATE TABLE.

CREATE TABLE IF NOT EXISTS distributors (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    fan_id TEXT NOT NULL,
    code TEXT NOT NULL,
    parent_id TEXT NOT NULL,
    upline TEXT NOT NULL,
    depth INTEGER NOT NULL CHECK (depth >= 1),
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    activated_at TEXT NOT NULL DEFAULT '',
    path TEXT NOT NULL, -- last: a deep path spills into overflow pages that lookups without it never read
    PRIMARY KEY (tenant_id, id));

CREATE UNIQUE INDEX IF NOT EXISTS distributors_fan ON distributors (tenant_id, fan_id);

CREATE UNIQUE INDEX IF NOT EXISTS distributors_code ON distributors (tenant_id, code);

CREATE INDEX IF NOT EXISTS distributors_parent ON distributors (tenant_id, parent_id, created_at);

CREATE INDEX IF NOT EXISTS distributors_path ON distributors (tenant_id, path);

CREATE INDEX IF NOT EXISTS distributors_status ON distributors (tenant_id, status, created_at);

CREATE TABLE IF NOT EXISTS distributor_stats (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    team_size INTEGER NOT NULL DEFAULT 0,
    team_sales INTEGER NOT NULL DEFAULT 0,
    own_sales INTEGER NOT NULL DEFAULT 0,
    rolled INTEGER NOT NULL DEFAULT 0,
    dirty INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, id));

CREATE INDEX IF NOT EXISTS distributor_stats_dirty ON distributor_stats (tenant_id, dirty);

CREATE INDEX IF NOT EXISTS distributor_stats_sales ON distributor_stats (tenant_id, team_sales);

CREATE INDEX IF NOT EXISTS distributor_stats_size ON distributor_stats (tenant_id, team_size);

-- The shop's move in progress, one document (see PendingMove).
CREATE TABLE IF NOT EXISTS tree_move (
    tenant_id TEXT PRIMARY KEY,
    doc TEXT NOT NULL);
