-- The audit log's SQLite table in each tenant database (tenants.AuditSchema):
-- one row per change made through /api/v1 or /admin. Idempotent: applied
-- when a shop is provisioned and at start-up. Ids grow with time, so the
-- primary key pages the log newest first.

CREATE TABLE IF NOT EXISTS audit_log (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    role TEXT NOT NULL,
    method TEXT NOT NULL,
    route TEXT NOT NULL,
    path TEXT NOT NULL,
    target TEXT NOT NULL DEFAULT '',
    amount INTEGER,
    status INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id));
