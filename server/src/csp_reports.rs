//! Content-Security-Policy violation reports for the widget page: what a
//! browser refused to load or run there, kept for the store's merchant to see
//! (tamper detection on the payment page).

use paylet_api::StoreId;
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::Error;
use crate::db::{Arg, Batch, Db, now_millis};

/// A report as browsers send it to a `report-uri` (`application/csp-report`).
#[derive(Deserialize)]
pub struct ReportBody {
    #[serde(rename = "csp-report")]
    report: Report,
}

#[derive(Deserialize)]
struct Report {
    #[serde(rename = "document-uri", default)]
    document_uri: String,
    #[serde(rename = "effective-directive", default)]
    effective_directive: Option<String>,
    #[serde(rename = "violated-directive", default)]
    violated_directive: Option<String>,
    #[serde(rename = "blocked-uri", default)]
    blocked_uri: String,
}

/// A stored report, as the admin API shows it.
#[derive(Debug, Serialize)]
pub struct StoredReport {
    pub id: String,
    pub directive: String,
    pub blocked_uri: String,
    pub document_uri: String,
    pub received_at: i64,
}

/// Reports are the browser's words, not ours: kept short.
fn clipped(s: &str) -> String {
    s.chars().take(500).collect()
}

pub async fn record(db: &Db, store: &StoreId, body: ReportBody) -> Result<(), Error> {
    let r = body.report;
    let directive = r.effective_directive.or(r.violated_directive).unwrap_or_default();
    let args = vec![
        Arg::Text(format!("csp_{}", crate::ids::random_string(20))),
        Arg::Text(store.to_string()),
        Arg::Text(clipped(&directive)),
        Arg::Text(clipped(&r.blocked_uri)),
        Arg::Text(clipped(&r.document_uri)),
        Arg::Int(now_millis()),
    ];
    let mut batch = Batch::default();
    batch.add(
        "INSERT INTO csp_reports (id, store_id, directive, blocked_uri, document_uri, received_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        args,
    );
    // Anyone can post reports: keep a store's newest ones only, so a flood
    // cannot fill the database.
    batch.add(
        "DELETE FROM csp_reports WHERE store_id = $1 AND id NOT IN \
         (SELECT id FROM csp_reports WHERE store_id = $1 ORDER BY received_at DESC, id LIMIT $2)",
        vec![Arg::Text(store.to_string()), Arg::Int(KEPT_PER_STORE)],
    );
    db.write_batch(batch).await
}

/// How many reports a store keeps.
pub const KEPT_PER_STORE: i64 = 1000;

/// The store's most recent reports, newest first.
pub async fn recent(db: &Db, store: &StoreId, limit: i64) -> Result<Vec<StoredReport>, Error> {
    let rows = sqlx::query(
        "SELECT id, directive, blocked_uri, document_uri, received_at FROM csp_reports \
         WHERE store_id = $1 ORDER BY received_at DESC, id LIMIT $2",
    )
    .bind(store.as_str())
    .bind(limit)
    .fetch_all(db.reader())
    .await?;
    rows.iter()
        .map(|row| {
            Ok(StoredReport {
                id: row.try_get("id")?,
                directive: row.try_get("directive")?,
                blocked_uri: row.try_get("blocked_uri")?,
                document_uri: row.try_get("document_uri")?,
                received_at: row.try_get("received_at")?,
            })
        })
        .collect()
}
