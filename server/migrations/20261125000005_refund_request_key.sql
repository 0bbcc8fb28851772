-- The Idempotency-Key a refund was requested under: a retry after a lost
-- answer finds the refund it made instead of refunding again.
ALTER TABLE refunds ADD COLUMN request_key TEXT;
CREATE UNIQUE INDEX refunds_by_request_key ON refunds (store_id, request_key);
