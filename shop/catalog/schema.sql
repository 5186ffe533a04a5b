-- The SQLite tables and indexes of this package in each tenant database
-- (see Schema). Every statement is idempotent: it runs when a shop is
-- provisioned and again at start-up. A column added later is an
-- ALTER TABLE ... ADD COLUMN after its CREATE TABLE.

CREATE TABLE IF NOT EXISTS products (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    price INTEGER NOT NULL CHECK (price >= 0),
    stock INTEGER NOT NULL CHECK (stock >= 0),
    images TEXT NOT NULL,
    category TEXT NOT NULL,
    status TEXT NOT NULL,
    rev INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id));

-- A product's words in other languages: {"en": {"title", "description", "category"}}.
ALTER TABLE products ADD COLUMN translations TEXT NOT NULL DEFAULT '{}';

-- The crossed-out price (划线价) in fen, 0 for none.
ALTER TABLE products ADD COLUMN original_price INTEGER NOT NULL DEFAULT 0;

-- The product's own code (a product without SKUs; each SKU has its own).
ALTER TABLE products ADD COLUMN code TEXT NOT NULL DEFAULT '';

CREATE INDEX IF NOT EXISTS products_created ON products (tenant_id, created_at);

CREATE INDEX IF NOT EXISTS products_status ON products (tenant_id, status, created_at);

CREATE INDEX IF NOT EXISTS products_category ON products (tenant_id, category, created_at);

CREATE TABLE IF NOT EXISTS skus (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    product_id TEXT NOT NULL,
    name TEXT NOT NULL,
    price INTEGER NOT NULL CHECK (price >= 0),
    stock INTEGER NOT NULL CHECK (stock >= 0),
    position INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id));

-- The merchant's SKU code ('' for none) and the crossed-out price (0 for none).
ALTER TABLE skus ADD COLUMN code TEXT NOT NULL DEFAULT '';

ALTER TABLE skus ADD COLUMN original_price INTEGER NOT NULL DEFAULT 0;

CREATE INDEX IF NOT EXISTS skus_product ON skus (tenant_id, product_id, position);

CREATE TABLE IF NOT EXISTS stock_holds (
    tenant_id TEXT NOT NULL,
    key TEXT NOT NULL,
    product_id TEXT NOT NULL,
    sku_id TEXT NOT NULL,
    qty INTEGER NOT NULL CHECK (qty > 0),
    PRIMARY KEY (tenant_id, key));

CREATE TABLE IF NOT EXISTS catalog_meta (
    tenant_id TEXT PRIMARY KEY,
    stamp TEXT NOT NULL);

-- The stock log (see stocklog.go): the products whose storefront stock
-- changed, at growing positions; the last few hundred are kept.
CREATE TABLE IF NOT EXISTS stock_log (
    tenant_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    product_id TEXT NOT NULL,
    PRIMARY KEY (tenant_id, seq));

-- Units put back on sale by a refund, once per key (an order line).
CREATE TABLE IF NOT EXISTS restocks (
    tenant_id TEXT NOT NULL,
    key TEXT NOT NULL,
    PRIMARY KEY (tenant_id, key));
