-- The SQLite tables and indexes of this package in each tenant database
-- (see Schema). Every statement is idempotent: it runs when a shop is
-- provisioned and again at start-up.

CREATE TABLE IF NOT EXISTS vote_rounds (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    starts_at TEXT NOT NULL,
    ends_at TEXT NOT NULL,
    at_once INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id));

CREATE INDEX IF NOT EXISTS vote_rounds_start ON vote_rounds (tenant_id, starts_at);
-- Two rounds never start at once: replicas making the market's next
-- round (or a shop's default one) at the same moment make one.
CREATE UNIQUE INDEX IF NOT EXISTS vote_rounds_start_once ON vote_rounds (tenant_id, starts_at);

-- A round's products: one per product, with its vote count.
CREATE TABLE IF NOT EXISTS vote_items (
    tenant_id TEXT NOT NULL,
    round_id TEXT NOT NULL,
    product_id TEXT NOT NULL,
    title TEXT NOT NULL,
    image TEXT NOT NULL DEFAULT '',
    price INTEGER NOT NULL,
    expected_price INTEGER NOT NULL,
    target_votes INTEGER NOT NULL,
    votes INTEGER NOT NULL DEFAULT 0,
    added_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, round_id, product_id));

-- An item's state: listed (voted on), pending or rejected (a market
-- registration the operator has not approved), removed (found brushed:
-- its votes no longer count); shop_id is the product's shop (market
-- rounds), note the reason of a rejection or removal.
ALTER TABLE vote_items ADD COLUMN state TEXT NOT NULL DEFAULT 'listed';

ALTER TABLE vote_items ADD COLUMN shop_id TEXT NOT NULL DEFAULT '';

ALTER TABLE vote_items ADD COLUMN note TEXT NOT NULL DEFAULT '';

-- A fan's ballots: used ever, and the day's count (the daily limit).
CREATE TABLE IF NOT EXISTS vote_fans (
    tenant_id TEXT NOT NULL,
    fan_id TEXT NOT NULL,
    used INTEGER NOT NULL DEFAULT 0 CHECK (used >= 0),
    day TEXT NOT NULL DEFAULT '',
    day_count INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, fan_id));

-- One vote per fan, product and round.
CREATE TABLE IF NOT EXISTS vote_votes (
    tenant_id TEXT NOT NULL,
    round_id TEXT NOT NULL,
    product_id TEXT NOT NULL,
    fan_id TEXT NOT NULL,
    day TEXT NOT NULL,
    at TEXT NOT NULL,
    addr TEXT NOT NULL DEFAULT '',
    fresh INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, round_id, product_id, fan_id));

CREATE INDEX IF NOT EXISTS vote_votes_fan ON vote_votes (tenant_id, fan_id, round_id);

-- Votes per round, product and hour (the results over time).
CREATE TABLE IF NOT EXISTS vote_hours (
    tenant_id TEXT NOT NULL,
    round_id TEXT NOT NULL,
    product_id TEXT NOT NULL,
    hour TEXT NOT NULL,
    votes INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, round_id, product_id, hour));

-- Group deals: one per product and round; sold never passes quantity.
CREATE TABLE IF NOT EXISTS vote_deals (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    round_id TEXT NOT NULL,
    product_id TEXT NOT NULL,
    title TEXT NOT NULL,
    price INTEGER NOT NULL,
    regular_price INTEGER NOT NULL,
    quantity INTEGER NOT NULL,
    sold INTEGER NOT NULL DEFAULT 0 CHECK (sold >= 0 AND sold <= quantity),
    votes INTEGER NOT NULL,
    starts_at TEXT NOT NULL,
    public_at TEXT NOT NULL,
    ends_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    notified INTEGER NOT NULL DEFAULT 0,
    notified_after TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, id));

CREATE UNIQUE INDEX IF NOT EXISTS vote_deals_product_round ON vote_deals (tenant_id, round_id, product_id);

CREATE INDEX IF NOT EXISTS vote_deals_product ON vote_deals (tenant_id, product_id, ends_at);

CREATE INDEX IF NOT EXISTS vote_deals_notify ON vote_deals (tenant_id, notified, starts_at);

CREATE INDEX IF NOT EXISTS vote_deals_created ON vote_deals (tenant_id, created_at);

-- What each order took of a deal's quantity, given back once if it is cancelled.
CREATE TABLE IF NOT EXISTS vote_claims (
    tenant_id TEXT NOT NULL,
    order_id TEXT NOT NULL,
    deal_id TEXT NOT NULL,
    qty INTEGER NOT NULL,
    released INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, order_id, deal_id));
