//! Content-Security-Policy violation reports for the widget page: what a
//! browser refused to load or run there, kept for the store's merchant to see
//! (tamper detection on the payment page).

use paylet_api::StoreId;
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::db::csp_reports as stored;
use crate::db::{Db, now_millis};

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
    let group = stored::Group {
        store: store.clone(),
        directive: clipped(&directive, 64),
        blocked_uri: clipped(&r.blocked_uri, 256),
        document_uri: clipped(&r.document_uri, 256),
    };
    // The group just counted always stays; the lowest ranked of the others
    // make room for it.
    stored::count(db, &group, now_millis(), GROUPS_PER_STORE - 1).await
}

/// The store's groups (all of them: at most [`GROUPS_PER_STORE`]), the most
/// recently reported first.
pub async fn groups(db: &Db, store: &StoreId) -> Result<Vec<ReportGroup>, Error> {
    stored::groups(db, store, GROUPS_PER_STORE).await
}
