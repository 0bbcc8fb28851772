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

/// What one kind of refusal looks like to the merchant: the directive, what
/// was blocked and on which page, with when it was first and last reported
/// and how often.
#[derive(Debug, Serialize)]
pub struct ReportGroup {
    pub directive: String,
    pub blocked_uri: String,
    pub document_uri: String,
    pub first_seen: i64,
    pub last_seen: i64,
    pub count: i64,
}

/// Reports are the browser's words, not ours: kept short, and short enough
/// together for the database's unique index.
fn clipped(s: &str, chars: usize) -> String {
    s.chars().take(chars).collect()
}

/// The most groups a store keeps. Past it, a new group takes the place of
/// the one reported least often, the newest of those first: a flood of
/// forged one-off reports pushes out its own, and a report seen earlier, or
/// by many browsers, stays.
pub const GROUPS_PER_STORE: i64 = 1000;

/// Counts a report in its group, adding the group if it is new.
pub async fn record(db: &Db, store: &StoreId, body: ReportBody) -> Result<(), Error> {
    let r = body.report;
    let directive = r.effective_directive.or(r.violated_directive).unwrap_or_default();
    let now = now_millis();
    let (store, directive) = (store.to_string(), clipped(&directive, 64));
    let (blocked, document) = (clipped(&r.blocked_uri, 256), clipped(&r.document_uri, 256));
    let group = || {
        [
            Arg::Text(store.clone()),
            Arg::Text(directive.clone()),
            Arg::Text(blocked.clone()),
            Arg::Text(document.clone()),
        ]
    };
    let mut batch = Batch::default();
    batch.add(
        "INSERT INTO csp_reports (store_id, directive, blocked_uri, document_uri, first_seen, last_seen, times) \
         VALUES ($1, $2, $3, $4, $5, $5, 1) \
         ON CONFLICT (store_id, directive, blocked_uri, document_uri) \
         DO UPDATE SET last_seen = excluded.last_seen, times = csp_reports.times + 1",
        group().into_iter().chain([Arg::Int(now)]).collect(),
    );
    // The group just counted always stays; the lowest ranked of the others
    // make room for it.
    batch.add(
        "DELETE FROM csp_reports WHERE store_id = $1 AND (directive, blocked_uri, document_uri) IN \
         (SELECT directive, blocked_uri, document_uri FROM csp_reports WHERE store_id = $1 \
          AND NOT (directive = $2 AND blocked_uri = $3 AND document_uri = $4) \
          ORDER BY times DESC, first_seen LIMIT 10 OFFSET $5)",
        group().into_iter().chain([Arg::Int(GROUPS_PER_STORE - 1)]).collect(),
    );
    db.write_batch(batch).await
}

/// The store's groups (all of them: at most [`GROUPS_PER_STORE`]), the most
/// recently reported first.
pub async fn groups(db: &Db, store: &StoreId) -> Result<Vec<ReportGroup>, Error> {
    let rows = sqlx::query(
        "SELECT directive, blocked_uri, document_uri, first_seen, last_seen, times FROM csp_reports \
         WHERE store_id = $1 ORDER BY last_seen DESC, first_seen DESC LIMIT $2",
    )
    .bind(store.as_str())
    .bind(GROUPS_PER_STORE)
    .fetch_all(db.reader())
    .await?;
    rows.iter()
        .map(|row| {
            Ok(ReportGroup {
                directive: row.try_get("directive")?,
                blocked_uri: row.try_get("blocked_uri")?,
                document_uri: row.try_get("document_uri")?,
                first_seen: row.try_get("first_seen")?,
                last_seen: row.try_get("last_seen")?,
                count: row.try_get("times")?,
            })
        })
        .collect()
}
