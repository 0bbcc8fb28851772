//! The `notifications` table: the outbox of messages to merchants.

use sqlx::AnyConnection;

use super::{Arg, Backend, Batch, Db};
use crate::Error;

/// A message leased to a worker.
#[derive(sqlx::FromRow)]
pub struct Leased {
    pub id: String,
    pub store_id: String,
    pub payload: String,
    pub attempts: i64,
}

/// A new message about an order.
pub struct New<'a> {
    pub id: String,
    pub store: &'a str,
    pub order: &'a str,
    pub event_type: &'a str,
    pub payload: String,
    pub now: i64,
}

/// Queues `new`, in the transaction on `conn`, if its store has an endpoint.
pub async fn insert(conn: &mut AnyConnection, new: New<'_>) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO notifications (id, store_id, order_id, event_type, payload, attempts, next_attempt_at, created_at) \
         SELECT $1, $2, $3, $4, $5, 0, $6, $6 FROM stores WHERE id = $2 AND notify_url IS NOT NULL",
    )
    .bind(new.id)
    .bind(new.store)
    .bind(new.order)
    .bind(new.event_type)
    .bind(new.payload)
    .bind(new.now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Whether any message is due at `now` (read without taking the writer).
pub async fn any_due(db: &Db, now: i64) -> Result<bool, Error> {
    let due = sqlx::query("SELECT 1 AS due FROM notifications WHERE next_attempt_at <= $1 LIMIT 1")
        .bind(now)
        .fetch_optional(db.reader())
        .await?;
    Ok(due.is_some())
}

/// How many messages to lease, and from whom.
pub struct Lease<'a> {
    pub now: i64,
    pub until: i64,
    pub most: i64,
    pub per_store: i64,
    /// Stores whose messages are left alone.
    pub skip: &'a [String],
}

/// Leases up to `most` due messages until `until`, at most `per_store` of any
/// one store and none of the `skip` stores', the longest due first.
pub async fn lease(conn: &mut AnyConnection, lease: Lease<'_>) -> Result<Vec<Leased>, Error> {
    let skip = if lease.skip.is_empty() {
        String::new()
    } else {
        let places: Vec<String> = (0..lease.skip.len()).map(|i| format!("${}", i + 5)).collect();
        format!(" AND store_id NOT IN ({})", places.join(", "))
    };
    // The due condition is repeated where the rows are locked: on Postgres a
    // row another instance claimed meanwhile is checked again there, and skipped.
    let sql = format!(
        "UPDATE notifications SET next_attempt_at = $1 WHERE id IN \
         (SELECT id FROM notifications WHERE next_attempt_at <= $2 AND id IN \
          (SELECT id FROM (SELECT id, next_attempt_at, \
                           ROW_NUMBER() OVER (PARTITION BY store_id ORDER BY next_attempt_at, id) AS nth \
                           FROM notifications WHERE next_attempt_at <= $2{skip}) due \
           WHERE nth <= $4 ORDER BY next_attempt_at LIMIT $3){}) \
         RETURNING id, store_id, payload, attempts",
        Backend::of(conn).skip_locked()
    );
    let mut query = sqlx::query_as(&sql).bind(lease.until).bind(lease.now).bind(lease.most).bind(lease.per_store);
    for store in lease.skip {
        query = query.bind(store.as_str());
    }
    Ok(query.fetch_all(conn).await?)
}

/// Gives the message up without another attempt, for `why`.
pub async fn give_up(conn: &mut AnyConnection, id: &str, why: &str) -> Result<(), Error> {
    sqlx::query("UPDATE notifications SET next_attempt_at = NULL, last_error = $1 WHERE id = $2")
        .bind(why)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Adds to `batch` handing a leased message back, due at `now`, without
/// counting an attempt. The lease in the condition leaves alone an outcome
/// recorded meanwhile.
pub fn hand_back(batch: &mut Batch, id: &str, now: i64, leased_until: i64) {
    batch.add(
        "UPDATE notifications SET next_attempt_at = $1 WHERE id = $2 AND next_attempt_at = $3",
        vec![Arg::Int(now), Arg::Text(id.to_owned()), Arg::Int(leased_until)],
    );
}

/// What an attempt to deliver a message came to.
pub struct Attempted {
    /// Attempts so far, this one included.
    pub attempts: i64,
    /// When to try again; none once delivered or given up.
    pub next: Option<i64>,
    pub delivered: Option<i64>,
    pub error: Option<String>,
}

pub async fn record(db: &Db, id: &str, a: Attempted) -> Result<(), Error> {
    let sql = "UPDATE notifications SET attempts = $1, next_attempt_at = $2, delivered_at = $3, last_error = $4 \
               WHERE id = $5";
    #[rustfmt::skip]
    let args = vec![Arg::Int(a.attempts), Arg::OptInt(a.next), Arg::OptInt(a.delivered), Arg::OptText(a.error),
                    Arg::Text(id.to_owned())];
    db.execute(sql, args).await
}
