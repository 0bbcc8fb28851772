-- What browsers reported the widget page's Content-Security-Policy refused:
-- a script or frame someone tried to add to the payment page (PCI DSS 11.6.1).
CREATE TABLE csp_reports (
    id            TEXT PRIMARY KEY,
    store_id      TEXT NOT NULL REFERENCES stores (id),
    directive     TEXT NOT NULL,
    blocked_uri   TEXT NOT NULL,
    document_uri  TEXT NOT NULL,
    received_at   BIGINT NOT NULL
);
CREATE INDEX csp_reports_by_store ON csp_reports (store_id, received_at);
