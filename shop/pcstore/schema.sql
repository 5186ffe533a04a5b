-- The SQLite tables and indexes of this package in each tenant database
-- (see Schema). Every statement is idempotent: it runs when a shop is
-- provisioned and again at start-up. A column added later is an
-- ALTER TABLE ... ADD COLUMN after its CREATE TABLE.

CREATE TABLE IF NOT EXISTS pcstore_links (
    tenant_id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    url TEXT NOT NULL,
    api_key TEXT NOT NULL,
    api_secret TEXT NOT NULL,
    upload_id TEXT NOT NULL,
    upload_name TEXT NOT NULL,
    currency TEXT NOT NULL,
    rates TEXT NOT NULL,
    interval_minutes INTEGER NOT NULL,
    assumed_stock INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    next_run_at TEXT NOT NULL,
    current_run TEXT NOT NULL,
    last_run_id TEXT NOT NULL,
    last_count INTEGER NOT NULL);

-- Whether the store itself stated the link's currency (1) or the merchant
-- set it (0): a sync then requires the store to state the same again.
ALTER TABLE pcstore_links ADD COLUMN currency_from_store INTEGER NOT NULL DEFAULT 0;

CREATE TABLE IF NOT EXISTS pcstore_mappings (
    tenant_id TEXT NOT NULL,
    source TEXT NOT NULL,
    external_id TEXT NOT NULL,
    product_id TEXT NOT NULL,
    skus TEXT NOT NULL,
    run TEXT NOT NULL,
    outcome TEXT NOT NULL,
    gone INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, source, external_id));

CREATE INDEX IF NOT EXISTS pcstore_mappings_run ON pcstore_mappings (tenant_id, run, outcome);

CREATE INDEX IF NOT EXISTS pcstore_mappings_gone ON pcstore_mappings (tenant_id, source, gone);

CREATE TABLE IF NOT EXISTS pcstore_runs (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    status TEXT NOT NULL,
    run_trigger TEXT NOT NULL,
    spec TEXT NOT NULL,
    counts TEXT NOT NULL,
    total INTEGER NOT NULL,
    bytes_read INTEGER NOT NULL,
    bytes_total INTEGER NOT NULL,
    page INTEGER NOT NULL,
    resumes INTEGER NOT NULL,
    error TEXT NOT NULL,
    notes TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    heartbeat_at TEXT NOT NULL,
    active_ms INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id));

CREATE INDEX IF NOT EXISTS pcstore_runs_started ON pcstore_runs (tenant_id, started_at);

CREATE TABLE IF NOT EXISTS pcstore_run_errors (
    tenant_id TEXT NOT NULL,
    run_id TEXT NOT NULL,
    ref TEXT NOT NULL,
    seq INTEGER NOT NULL,
    external_id TEXT NOT NULL,
    title TEXT NOT NULL,
    message TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, run_id, ref));

CREATE INDEX IF NOT EXISTS pcstore_run_errors_seq ON pcstore_run_errors (tenant_id, run_id, seq);

CREATE TABLE IF NOT EXISTS pcstore_uploads (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    size INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id));

CREATE TABLE IF NOT EXISTS pcstore_upload_chunks (
    tenant_id TEXT NOT NULL,
    upload_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (tenant_id, upload_id, seq));

-- Copies of the PC store's images in the shop's image store, by the hash
-- of the image's address there (key): what the store sent with it (ETag,
-- Last-Modified) and the hash of its bytes decide whether it changed.
CREATE TABLE IF NOT EXISTS pcstore_images (
    tenant_id TEXT NOT NULL,
    key TEXT NOT NULL,
    url TEXT NOT NULL,
    etag TEXT NOT NULL,
    last_modified TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    stored TEXT NOT NULL,
    checked_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, key));
