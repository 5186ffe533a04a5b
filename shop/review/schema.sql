-- The SQLite tables and indexes of this package in each tenant database
-- (see Schema). Every statement is idempotent: it runs when a shop is
-- provisioned and again at start-up.

CREATE TABLE IF NOT EXISTS reviews (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    order_id TEXT NOT NULL,
    fan_id TEXT NOT NULL,
    product_id TEXT NOT NULL,
    sku_id TEXT NOT NULL,
    rating INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    text TEXT NOT NULL,
    images TEXT NOT NULL DEFAULT '[]',
    reply TEXT NOT NULL DEFAULT '',
    replied_at TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id));

-- One review per order line.
CREATE UNIQUE INDEX IF NOT EXISTS reviews_line ON reviews (tenant_id, order_id, product_id, sku_id);

CREATE INDEX IF NOT EXISTS reviews_product ON reviews (tenant_id, product_id, created_at);

CREATE INDEX IF NOT EXISTS reviews_created ON reviews (tenant_id, created_at);

-- Each product's rating, moved in the transaction that writes a review.
CREATE TABLE IF NOT EXISTS review_stats (
    tenant_id TEXT NOT NULL,
    product_id TEXT NOT NULL,
    count INTEGER NOT NULL DEFAULT 0,
    sum INTEGER NOT NULL DEFAULT 0,
    rev INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, product_id));
