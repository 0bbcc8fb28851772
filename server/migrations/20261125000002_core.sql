-- Admin API keys, customers, addresses, checkout sessions, idempotency keys and
-- each order's history.

ALTER TABLE stores ADD COLUMN payment_methods TEXT NOT NULL DEFAULT 'card';

-- A key is `plk_{id}_{secret}`: looked up by id, then its SHA-256 compared in
-- constant time. The key itself is shown once and never stored.
CREATE TABLE admin_keys (
    id          TEXT PRIMARY KEY,
    store_id    TEXT NOT NULL REFERENCES stores (id),
    key_hash    TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);
CREATE INDEX admin_keys_by_store ON admin_keys (store_id);

CREATE TABLE customers (
    id          TEXT PRIMARY KEY,
    store_id    TEXT NOT NULL REFERENCES stores (id),
    email       TEXT NOT NULL,
    name        TEXT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    UNIQUE (store_id, email)
);

ALTER TABLE orders ADD COLUMN customer_id TEXT REFERENCES customers (id);
-- Addresses as the shopper gave them for this order (JSON).
ALTER TABLE orders ADD COLUMN billing_address TEXT;
ALTER TABLE orders ADD COLUMN shipping_address TEXT;
ALTER TABLE orders ADD COLUMN checkout_session_id TEXT;
CREATE INDEX orders_by_store_status ON orders (store_id, status, created_at);

-- A cart the merchant's backend priced; its id is the capability the widget uses.
CREATE TABLE checkout_sessions (
    id              TEXT PRIMARY KEY,
    store_id        TEXT NOT NULL REFERENCES stores (id),
    currency        TEXT NOT NULL,
    total_amount    BIGINT NOT NULL,
    -- [{"name", "sku", "quantity", "unit_amount"}]
    lines           TEXT NOT NULL,
    customer_email  TEXT,
    metadata        TEXT NOT NULL,
    status          TEXT NOT NULL,
    expires_at      BIGINT NOT NULL,
    created_at      BIGINT NOT NULL
);

-- One row per (scope, key): locked while the first request runs, then holding
-- its response for replay. Rows older than 24 hours are expired.
CREATE TABLE idempotency_keys (
    scope            TEXT NOT NULL,
    idempotency_key  TEXT NOT NULL,
    request_hash     TEXT NOT NULL,
    locked_at        BIGINT,
    response_status  BIGINT,
    response_body    TEXT,
    created_at       BIGINT NOT NULL,
    PRIMARY KEY (scope, idempotency_key)
);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);

-- What happened to an order, in order: created, status changes, payment attempts.
CREATE TABLE order_history (
    id          TEXT PRIMARY KEY,
    order_id    TEXT NOT NULL REFERENCES orders (id),
    store_id    TEXT NOT NULL REFERENCES stores (id),
    at          BIGINT NOT NULL,
    kind        TEXT NOT NULL,
    detail      TEXT NOT NULL
);
CREATE INDEX order_history_by_order ON order_history (order_id, at);
