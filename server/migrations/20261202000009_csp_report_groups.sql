-- CSP reports kept as groups, one row per (store, directive, blocked URI,
-- document URI) with when it was first and last seen and how often: anyone
-- can post reports, and a flood of forged ones must not push out the first
-- report of a real skimmer, as keeping the newest 1,000 reports did. Texts
-- are clipped so the unique index stays within Postgres's row size for an
-- index entry.
ALTER TABLE csp_reports RENAME TO csp_reports_old;
DROP INDEX csp_reports_by_store;
CREATE TABLE csp_reports (
    store_id      TEXT NOT NULL REFERENCES stores (id),
    directive     TEXT NOT NULL,
    blocked_uri   TEXT NOT NULL,
    document_uri  TEXT NOT NULL,
    first_seen    BIGINT NOT NULL,
    last_seen     BIGINT NOT NULL,
    times         BIGINT NOT NULL,
    PRIMARY KEY (store_id, directive, blocked_uri, document_uri)
);
CREATE INDEX csp_reports_by_store ON csp_reports (store_id, last_seen);
INSERT INTO csp_reports (store_id, directive, blocked_uri, document_uri, first_seen, last_seen, times)
    SELECT store_id, directive, blocked_uri, document_uri, MIN(first_seen), MAX(last_seen), SUM(times)
    FROM (
        SELECT store_id, SUBSTR(directive, 1, 64) AS directive, SUBSTR(blocked_uri, 1, 256) AS blocked_uri,
               SUBSTR(document_uri, 1, 256) AS document_uri, received_at AS first_seen,
               received_at AS last_seen, 1 AS times
        FROM csp_reports_old
    ) clipped
    GROUP BY store_id, directive, blocked_uri, document_uri;
DROP TABLE csp_reports_old;
