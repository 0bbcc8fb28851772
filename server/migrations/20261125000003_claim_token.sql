-- Who holds an idempotency claim: claims are written in grouped commits, so a
-- request knows it won the claim by finding its own token on the row.
ALTER TABLE idempotency_keys ADD COLUMN locked_by TEXT;
