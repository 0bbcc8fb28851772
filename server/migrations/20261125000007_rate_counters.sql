-- Abuse limits: requests counted per subject (an address, a store, an order)
-- and per one-minute window. In the database so that every instance on one
-- Postgres database counts together; old windows are deleted by a worker.
CREATE TABLE rate_counters (
    subject       TEXT NOT NULL,
    window_start  BIGINT NOT NULL,
    hits          BIGINT NOT NULL,
    PRIMARY KEY (subject, window_start)
);
CREATE INDEX rate_counters_by_window ON rate_counters (window_start);
