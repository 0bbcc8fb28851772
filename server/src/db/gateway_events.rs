//! The `gateway_events` table: each webhook event, stored once.

use paylet_api::{OrderId, StoreId};
use sqlx::AnyConnection;

use super::Db;
use crate::Error;

/// Stores the event as received, in the transaction on `conn`; whether it is
/// new (a redelivered event is stored already).
pub async fn insert(
    conn: &mut AnyConnection,
    store: &StoreId,
    event_id: &str,
    event_type: &str,
    now: i64,
) -> Result<bool, Error> {
    let inserted = sqlx::query(
        "INSERT INTO gateway_events (store_id, event_id, event_type, outcome, received_at) \
         VALUES ($1, $2, $3, 'received', $4) ON CONFLICT (store_id, event_id) DO NOTHING",
    )
    .bind(store.as_str())
    .bind(event_id)
    .bind(event_type)
    .bind(now)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

/// What applying the event came to, the order it was about, and its body
/// when it is to be kept.
pub async fn applied(
    conn: &mut AnyConnection,
    store: &StoreId,
    event_id: &str,
    (outcome, order, payload): (&str, Option<&OrderId>, Option<String>),
) -> Result<(), Error> {
    sqlx::query(
        "UPDATE gateway_events SET outcome = $1, order_id = $2, payload = $3 WHERE store_id = $4 AND event_id = $5",
    )
    .bind(outcome)
    .bind(order.map(OrderId::as_str))
    .bind(payload)
    .bind(store.as_str())
    .bind(event_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// An event with the outcome `unknown_order`.
#[derive(sqlx::FromRow)]
pub struct Unmatched {
    pub event_id: String,
    pub event_type: String,
    pub received_at: i64,
    pub payload: Option<String>,
}

/// The store's most recent events about no order of its, newest first.
pub async fn unmatched(db: &Db, store: &StoreId, limit: i64) -> Result<Vec<Unmatched>, Error> {
    // The outcome as a literal: with a bound value, Postgres's generic plans
    // cannot use the partial index `gateway_events_unmatched` and read all of
    // the store's events.
    Ok(sqlx::query_as(
        "SELECT event_id, event_type, received_at, payload FROM gateway_events \
         WHERE store_id = $1 AND outcome = 'unknown_order' ORDER BY received_at DESC, event_id LIMIT $2",
    )
    .bind(store.as_str())
    .bind(limit)
    .fetch_all(db.reader())
    .await?)
}
