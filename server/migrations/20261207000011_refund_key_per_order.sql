-- A refund's Idempotency-Key belongs to its order, as every key belongs to
-- its route: the same key on another order is another refund, not a replay
-- of this one.
DROP INDEX refunds_by_request_key;
CREATE UNIQUE INDEX refunds_by_request_key ON refunds (store_id, order_id, request_key);
