-- The SQLite tables and indexes of the dashboard in each tenant database
-- (see Schema). Every statement is idempotent: it runs when a shop is
-- provisioned and again at start-up.

-- dash_days: one row of counters per shop-local day, dimension and key
-- (dim "shop" with key "", "channel" with the channel, "product",
-- "guide", "distributor" with the id). Stored in key order (WITHOUT
-- ROWID): a range of days of one dimension is read in one sweep.
CREATE TABLE IF NOT EXISTS dash_days (
    tenant_id TEXT NOT NULL,
    day TEXT NOT NULL,
    dim TEXT NOT NULL,
    key TEXT NOT NULL,
    paid INTEGER NOT NULL DEFAULT 0,
    refunded INTEGER NOT NULL DEFAULT 0,
    orders INTEGER NOT NULL DEFAULT 0,
    refunds INTEGER NOT NULL DEFAULT 0,
    qty INTEGER NOT NULL DEFAULT 0,
    buyers INTEGER NOT NULL DEFAULT 0,
    visits INTEGER NOT NULL DEFAULT 0,
    follows INTEGER NOT NULL DEFAULT 0,
    unfollows INTEGER NOT NULL DEFAULT 0,
    active INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, dim, day, key)) WITHOUT ROWID;

-- dash_once: the keys of the increments applied (an event of an order, a
-- buyer's day, a fan's event), so a replay applies nothing twice.
CREATE TABLE IF NOT EXISTS dash_once (
    tenant_id TEXT NOT NULL,
    key TEXT NOT NULL,
    PRIMARY KEY (tenant_id, key));

-- dash_buyers: each buyer's first and latest paid day, for distinct buyers
-- over the ranges that end today.
CREATE TABLE IF NOT EXISTS dash_buyers (
    tenant_id TEXT NOT NULL,
    fan_id TEXT NOT NULL,
    first_day TEXT NOT NULL,
    last_day TEXT NOT NULL,
    PRIMARY KEY (tenant_id, fan_id));

CREATE INDEX IF NOT EXISTS dash_buyers_last_day ON dash_buyers (tenant_id, last_day);
