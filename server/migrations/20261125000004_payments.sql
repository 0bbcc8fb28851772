-- Payments beyond the inline card charge: 3-D Secure, hosted pages, refunds,
-- gateway webhooks applied once, reconciliation, and notifications to the merchant.

-- Where the gateway sends its webhooks for this store, and the secrets that
-- sign them. During a rotation the previous secret is accepted until its time.
ALTER TABLE stores ADD COLUMN gateway_location_id TEXT;
ALTER TABLE stores ADD COLUMN webhook_endpoint_id TEXT;
ALTER TABLE stores ADD COLUMN webhook_url TEXT;
ALTER TABLE stores ADD COLUMN webhook_secret TEXT;
ALTER TABLE stores ADD COLUMN webhook_secret_previous TEXT;
ALTER TABLE stores ADD COLUMN webhook_secret_previous_until BIGINT;
-- Where Paylet tells the merchant about its orders (Standard Webhooks).
ALTER TABLE stores ADD COLUMN notify_url TEXT;
ALTER TABLE stores ADD COLUMN notify_secret TEXT;

-- A payment attempt: a card token charged inline, or a hosted page. Rebuilt
-- because a hosted attempt has no token.
CREATE TABLE payment_attempts (
    id                  TEXT PRIMARY KEY,
    order_id            TEXT NOT NULL REFERENCES orders (id),
    store_id            TEXT NOT NULL REFERENCES stores (id),
    kind                TEXT NOT NULL,
    token               TEXT,
    status              TEXT NOT NULL,
    amount              BIGINT NOT NULL,
    currency            TEXT NOT NULL,
    gateway_payment_id  TEXT,
    hosted_session_id   TEXT,
    decline_code        TEXT,
    redirect_url        TEXT,
    -- When reconciliation should next ask the gateway; NULL once settled.
    check_at            BIGINT,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    UNIQUE (order_id, token)
);
INSERT INTO payment_attempts (id, order_id, store_id, kind, token, status, amount, currency, gateway_payment_id,
    decline_code, redirect_url, created_at, updated_at)
SELECT id, order_id, store_id, 'card', token, status, amount, currency, gateway_payment_id, decline_code,
    redirect_url, created_at, updated_at FROM payments;
DROP TABLE payments;
CREATE INDEX payment_attempts_by_order ON payment_attempts (order_id);
CREATE INDEX payment_attempts_by_gateway_id ON payment_attempts (store_id, gateway_payment_id);
CREATE INDEX payment_attempts_by_session ON payment_attempts (store_id, hosted_session_id);
CREATE INDEX payment_attempts_to_check ON payment_attempts (check_at);

CREATE TABLE refunds (
    id                 TEXT PRIMARY KEY,
    attempt_id         TEXT NOT NULL REFERENCES payment_attempts (id),
    order_id           TEXT NOT NULL REFERENCES orders (id),
    store_id           TEXT NOT NULL REFERENCES stores (id),
    amount             BIGINT NOT NULL CHECK (amount > 0),
    currency           TEXT NOT NULL,
    -- pending, succeeded or failed; only the gateway's word makes it succeeded.
    status             TEXT NOT NULL,
    reason             TEXT,
    gateway_refund_id  TEXT,
    check_at           BIGINT,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);
CREATE INDEX refunds_by_order ON refunds (order_id);
CREATE INDEX refunds_by_gateway_id ON refunds (store_id, gateway_refund_id);
CREATE INDEX refunds_to_check ON refunds (check_at);

-- Every gateway event received, once: the key is what makes a redelivery a no-op.
CREATE TABLE gateway_events (
    store_id     TEXT NOT NULL REFERENCES stores (id),
    event_id     TEXT NOT NULL,
    event_type   TEXT NOT NULL,
    order_id     TEXT,
    -- applied, ignored, or unknown_order (payload kept for a person to look at).
    outcome      TEXT NOT NULL,
    payload      TEXT,
    received_at  BIGINT NOT NULL,
    PRIMARY KEY (store_id, event_id)
);

-- The outbox of notifications to the merchant, written in the same transaction
-- as the change they announce and delivered with retries.
CREATE TABLE notifications (
    id               TEXT PRIMARY KEY,
    store_id         TEXT NOT NULL REFERENCES stores (id),
    order_id         TEXT NOT NULL REFERENCES orders (id),
    event_type       TEXT NOT NULL,
    payload          TEXT NOT NULL,
    attempts         BIGINT NOT NULL DEFAULT 0,
    -- NULL once delivered or given up.
    next_attempt_at  BIGINT,
    delivered_at     BIGINT,
    last_error       TEXT,
    created_at       BIGINT NOT NULL
);
CREATE INDEX notifications_due ON notifications (next_attempt_at);
CREATE INDEX notifications_by_order ON notifications (order_id);
