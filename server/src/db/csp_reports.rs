//! The `csp_reports` table: violation reports, counted by group.

use paylet_api::StoreId;

use super::{Arg, Batch, Db};
use crate::Error;
use crate::csp_reports::ReportGroup;

/// The group's key, in `$1…$4` order.
pub struct Group {
    pub store: StoreId,
    pub directive: String,
    pub blocked_uri: String,
    pub document_uri: String,
}

impl Group {
    fn args(&self) -> Vec<Arg> {
        vec![
            Arg::Text(self.store.as_str().to_owned()),
            Arg::Text(self.directive.clone()),
            Arg::Text(self.blocked_uri.clone()),
            Arg::Text(self.document_uri.clone()),
        ]
    }
}

/// Counts a report in `group`, adding the group if it is new, and keeps the
/// store's `keep` groups ranked highest besides it.
pub async fn count(db: &Db, group: &Group, now: i64, keep: i64) -> Result<(), Error> {
    let mut batch = Batch::default();
    batch.add(
        "INSERT INTO csp_reports (store_id, directive, blocked_uri, document_uri, first_seen, last_seen, times) \
         VALUES ($1, $2, $3, $4, $5, $5, 1) \
         ON CONFLICT (store_id, directive, blocked_uri, document_uri) \
         DO UPDATE SET last_seen = excluded.last_seen, times = csp_reports.times + 1",
        group.args().into_iter().chain([Arg::Int(now)]).collect(),
    );
    batch.add(
        "DELETE FROM csp_reports WHERE store_id = $1 AND (directive, blocked_uri, document_uri) IN \
         (SELECT directive, blocked_uri, document_uri FROM csp_reports WHERE store_id = $1 \
          AND NOT (directive = $2 AND blocked_uri = $3 AND document_uri = $4) \
          ORDER BY times DESC, first_seen LIMIT 10 OFFSET $5)",
        group.args().into_iter().chain([Arg::Int(keep)]).collect(),
    );
    db.write_batch(batch).await
}

#[derive(sqlx::FromRow)]
struct Row {
    directive: String,
    blocked_uri: String,
    document_uri: String,
    first_seen: i64,
    last_seen: i64,
    times: i64,
}

/// The store's groups, the most recently reported first, at most `limit`.
pub async fn groups(db: &Db, store: &StoreId, limit: i64) -> Result<Vec<ReportGroup>, Error> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT directive, blocked_uri, document_uri, first_seen, last_seen, times FROM csp_reports \
         WHERE store_id = $1 ORDER BY last_seen DESC, first_seen DESC LIMIT $2",
    )
    .bind(store.as_str())
    .bind(limit)
    .fetch_all(db.reader())
    .await?;
    let group = |r: Row| ReportGroup {
        directive: r.directive,
        blocked_uri: r.blocked_uri,
        document_uri: r.document_uri,
        first_seen: r.first_seen,
        last_seen: r.last_seen,
        count: r.times,
    };
    Ok(rows.into_iter().map(group).collect())
}
