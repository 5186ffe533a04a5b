-- The SQLite tables and indexes of this package in each tenant database
-- (see Schema). Every statement is idempotent: it runs when a shop is
-- provisioned and again at start-up. A column added later is an
-- ALTER TABLE ... ADD COLUMN after its CREATE TABLE.

CREATE TABLE IF NOT EXISTS ledger (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    beneficiary TEXT NOT NULL,
    seq INTEGER NOT NULL CHECK (seq > 0),
    type TEXT NOT NULL,
    class TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT '',
    order_id TEXT NOT NULL DEFAULT '',
    fan_id TEXT NOT NULL DEFAULT '',
    level INTEGER NOT NULL DEFAULT 0,
    ref TEXT NOT NULL DEFAULT '',
    amount INTEGER NOT NULL,
    base INTEGER NOT NULL DEFAULT 0,
    rate_bps INTEGER NOT NULL DEFAULT 0,
    available_at TEXT NOT NULL DEFAULT '',
    d_pending INTEGER NOT NULL DEFAULT 0,
    d_available INTEGER NOT NULL DEFAULT 0,
    d_frozen INTEGER NOT NULL DEFAULT 0,
    d_withdrawn INTEGER NOT NULL DEFAULT 0,
    pending INTEGER NOT NULL,
    available INTEGER NOT NULL,
    frozen INTEGER NOT NULL CHECK (frozen >= 0),
    withdrawn INTEGER NOT NULL,
    earned INTEGER NOT NULL,
    fee INTEGER NOT NULL DEFAULT 0,
    payout INTEGER NOT NULL DEFAULT 0,
    note TEXT NOT NULL DEFAULT '',
    transfer_ref TEXT NOT NULL DEFAULT '',
    decided_at TEXT NOT NULL DEFAULT '',
    paid_at TEXT NOT NULL DEFAULT '',
    open INTEGER NOT NULL DEFAULT 0,
    at TEXT NOT NULL,
    CHECK (type != 'earn' OR amount >= 0),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, beneficiary, seq));

-- Columns added after the first release (see engine.Schema).
ALTER TABLE ledger ADD COLUMN test INTEGER NOT NULL DEFAULT 0;

-- Every index is written by every entry, and an order writes one
-- entry per level: SQLite keeps only what its queries need. A
-- beneficiary's lists walk the unique (beneficiary, seq) index; the
-- settlement and repair scans use partial indexes (MongoDB's
-- declared indexes below cannot be partial on FerretDB).
CREATE INDEX IF NOT EXISTS ledger_order ON ledger (tenant_id, order_id, beneficiary, seq);

CREATE INDEX IF NOT EXISTS ledger_class ON ledger (tenant_id, class, at, id);

CREATE INDEX IF NOT EXISTS ledger_class_status ON ledger (tenant_id, class, status, at, id);

CREATE INDEX IF NOT EXISTS ledger_due ON ledger (tenant_id, available_at) WHERE type = 'earn' AND status = 'pending';

CREATE INDEX IF NOT EXISTS ledger_open ON ledger (tenant_id) WHERE open = 1;
