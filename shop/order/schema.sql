-- The SQLite tables and indexes of this package in each tenant database
-- (see Schema). Every statement is idempotent: it runs when a shop is
-- provisioned and again at start-up. A column added later is an
-- ALTER TABLE ... ADD COLUMN after its CREATE TABLE.

CREATE TABLE IF NOT EXISTS orders (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    fan_id TEXT NOT NULL,
    status TEXT NOT NULL,
    lines TEXT NOT NULL,
    address TEXT NOT NULL,
    goods_total INTEGER NOT NULL,
    shipping_fee INTEGER NOT NULL,
    discount INTEGER NOT NULL,
    payable INTEGER NOT NULL,
    paid INTEGER NOT NULL DEFAULT 0,
    refunded INTEGER NOT NULL DEFAULT 0,
    refundable INTEGER NOT NULL DEFAULT 0 CHECK (refundable >= 0),
    refunds TEXT NOT NULL DEFAULT '[]',
    events TEXT NOT NULL DEFAULT '[]',
    outbox INTEGER NOT NULL DEFAULT 0,
    provider TEXT NOT NULL DEFAULT '',
    transaction_id TEXT NOT NULL DEFAULT '',
    carrier TEXT NOT NULL DEFAULT '',
    tracking_no TEXT NOT NULL DEFAULT '',
    cancel_reason TEXT NOT NULL DEFAULT '',
    attribution TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    paid_at TEXT NOT NULL DEFAULT '',
    shipped_at TEXT NOT NULL DEFAULT '',
    completed_at TEXT NOT NULL DEFAULT '',
    cancelled_at TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, id));

-- Columns added after the first release (see engine.Schema).
ALTER TABLE orders ADD COLUMN attribution TEXT NOT NULL DEFAULT '{}';

ALTER TABLE orders ADD COLUMN test INTEGER NOT NULL DEFAULT 0;

CREATE INDEX IF NOT EXISTS orders_created ON orders (tenant_id, created_at);

CREATE INDEX IF NOT EXISTS orders_status ON orders (tenant_id, status, created_at);

CREATE INDEX IF NOT EXISTS orders_fan ON orders (tenant_id, fan_id, created_at);

-- Orders by payment time: a shop's shipping record over a period (shipping.go, shop/credit).
CREATE INDEX IF NOT EXISTS orders_paid ON orders (tenant_id, paid_at);

-- The cron passes' indexes hold only the orders they look for:
-- every index an order's transition changes is one more page its
-- commit writes (the queries name the same literal conditions).
DROP INDEX IF EXISTS orders_expiry;

DROP INDEX IF EXISTS orders_shipped;

DROP INDEX IF EXISTS orders_outbox;

CREATE INDEX IF NOT EXISTS orders_due_payment ON orders (tenant_id, expires_at) WHERE status = 'pending_payment';

CREATE INDEX IF NOT EXISTS orders_due_completion ON orders (tenant_id, shipped_at) WHERE status = 'shipped';

CREATE INDEX IF NOT EXISTS orders_with_events ON orders (tenant_id) WHERE outbox = 1;

-- Fully refunded orders whose status says otherwise: none on SQLite,
-- where a refund writes both at once; the repair pass looks anyway.
CREATE INDEX IF NOT EXISTS orders_fully_refunded ON orders (tenant_id)
    WHERE refundable = 0 AND refunded > 0 AND status IN ('paid', 'shipped', 'completed');

CREATE TABLE IF NOT EXISTS payments (
    tenant_id TEXT NOT NULL,
    provider TEXT NOT NULL,
    transaction_id TEXT NOT NULL,
    order_id TEXT NOT NULL,
    amount INTEGER NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, provider, transaction_id));

ALTER TABLE payments ADD COLUMN refund TEXT NOT NULL DEFAULT '';

ALTER TABLE payments ADD COLUMN reason TEXT NOT NULL DEFAULT '';

ALTER TABLE payments ADD COLUMN refunded_at TEXT NOT NULL DEFAULT '';

CREATE INDEX IF NOT EXISTS payments_order ON payments (tenant_id, order_id);

CREATE INDEX IF NOT EXISTS payments_refund ON payments (tenant_id, refund, at) WHERE refund != '';

-- A provider's payments of a day, for reconciliation.
CREATE INDEX IF NOT EXISTS payments_provider_at ON payments (tenant_id, provider, at);

CREATE TABLE IF NOT EXISTS idempotency_keys (
    tenant_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    hash TEXT NOT NULL,
    order_id TEXT NOT NULL,
    status INTEGER NOT NULL,
    body BLOB,
    at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, scope, key));

CREATE INDEX IF NOT EXISTS idempotency_keys_at ON idempotency_keys (tenant_id, at);

CREATE TABLE IF NOT EXISTS unpaid_slots (
    tenant_id TEXT NOT NULL,
    fan_id TEXT NOT NULL,
    n INTEGER NOT NULL,
    order_id TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, fan_id, n));

CREATE TABLE IF NOT EXISTS cart_items (
    tenant_id TEXT NOT NULL,
    fan_id TEXT NOT NULL,
    product_id TEXT NOT NULL,
    sku_id TEXT NOT NULL,
    qty INTEGER NOT NULL CHECK (qty > 0),
    price_seen INTEGER NOT NULL,
    added_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, fan_id, product_id, sku_id));

CREATE TABLE IF NOT EXISTS order_settings (
    tenant_id TEXT PRIMARY KEY,
    doc TEXT NOT NULL);

-- WeChat Pay reconciliations, one document per shop and China day.
CREATE TABLE IF NOT EXISTS order_reconciliations (
    tenant_id TEXT NOT NULL,
    name TEXT NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (tenant_id, name));

-- Refunds are recorded processing and settled by the provider's answer:
-- refunding counts the processing ones, refund_seq versions the list.
ALTER TABLE orders ADD COLUMN refunding INTEGER NOT NULL DEFAULT 0;

ALTER TABLE orders ADD COLUMN refund_seq INTEGER NOT NULL DEFAULT 0;

CREATE INDEX IF NOT EXISTS orders_refunding ON orders (tenant_id) WHERE refunding > 0;

-- A processing refund reserves its amount (refundable 0 while it runs):
-- only an order with none processing is fully refunded.
DROP INDEX IF EXISTS orders_fully_refunded;

CREATE INDEX IF NOT EXISTS orders_fully_refunded_settled ON orders (tenant_id)
    WHERE refundable = 0 AND refunded > 0 AND refunding = 0 AND status IN ('paid', 'shipped', 'completed');

-- The payment's state at WeChat Pay (jobs.go): when the query job asks
-- next about an order being paid; '' for none (never prepaid, or the
-- back-off ended: the expiry pass asks a last time and closes it).
ALTER TABLE orders ADD COLUMN next_query_at TEXT NOT NULL DEFAULT '';

CREATE INDEX IF NOT EXISTS orders_payment_query ON orders (tenant_id, next_query_at)
    WHERE status = 'pending_payment' AND next_query_at != '';
