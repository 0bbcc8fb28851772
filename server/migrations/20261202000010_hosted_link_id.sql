-- Square style: the payment link behind a hosted attempt, which Paylet deletes
-- before the shopper pays another way, so the old page can take no money.
-- (hosted_session_id holds the link's order, which the gateway's events name.)
ALTER TABLE payment_attempts ADD COLUMN hosted_link_id TEXT;
