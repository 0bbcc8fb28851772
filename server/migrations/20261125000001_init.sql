-- Stores, catalog, orders and payment attempts. Timestamps are Unix milliseconds;
-- money is an integer in minor units next to its ISO 4217 currency.

CREATE TABLE stores (
    id                  TEXT PRIMARY KEY,
    name                TEXT NOT NULL,
    currency            TEXT NOT NULL,
    -- Origins allowed to embed the widget, space separated.
    allowed_origins     TEXT NOT NULL,
    gateway_style       TEXT NOT NULL,
    gateway_api_base    TEXT NOT NULL,
    gateway_public_key  TEXT NOT NULL,
    gateway_secret_key  TEXT NOT NULL,
    created_at          BIGINT NOT NULL
);

CREATE TABLE products (
    store_id     TEXT NOT NULL REFERENCES stores (id),
    sku          TEXT NOT NULL,
    name         TEXT NOT NULL,
    unit_amount  BIGINT NOT NULL CHECK (unit_amount >= 0),
    currency     TEXT NOT NULL,
    active       BIGINT NOT NULL DEFAULT 1,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (store_id, sku)
);

CREATE TABLE orders (
    id                  TEXT PRIMARY KEY,
    store_id            TEXT NOT NULL REFERENCES stores (id),
    status              TEXT NOT NULL,
    currency            TEXT NOT NULL,
    total_amount        BIGINT NOT NULL CHECK (total_amount >= 0),
    -- SHA-256 of the client secret; the secret itself is shown once.
    client_secret_hash  TEXT NOT NULL,
    customer_email      TEXT NOT NULL,
    customer_name       TEXT,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);
CREATE INDEX orders_by_store ON orders (store_id, created_at);

CREATE TABLE order_lines (
    order_id      TEXT NOT NULL REFERENCES orders (id),
    store_id      TEXT NOT NULL REFERENCES stores (id),
    line_no       BIGINT NOT NULL,
    sku           TEXT NOT NULL,
    name          TEXT NOT NULL,
    quantity      BIGINT NOT NULL CHECK (quantity > 0),
    unit_amount   BIGINT NOT NULL,
    total_amount  BIGINT NOT NULL,
    PRIMARY KEY (order_id, line_no)
);

-- One row per attempt to charge a token for an order. Its id is the idempotency
-- key sent to the gateway, so a retried attempt can never charge twice.
CREATE TABLE payments (
    id                  TEXT PRIMARY KEY,
    order_id            TEXT NOT NULL REFERENCES orders (id),
    store_id            TEXT NOT NULL REFERENCES stores (id),
    token               TEXT NOT NULL,
    status              TEXT NOT NULL,
    amount              BIGINT NOT NULL,
    currency            TEXT NOT NULL,
    gateway_payment_id  TEXT,
    decline_code        TEXT,
    redirect_url        TEXT,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    UNIQUE (order_id, token)
);
