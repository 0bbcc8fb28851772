//! The `refunds` table. A refund's status is stored by its name; only a
//! `pending` one moves (see `refund_state`), and the writes here say so.

use paylet_api::{Currency, Money, OrderId, StoreId};
use sqlx::AnyConnection;

use super::{Arg, Db, rfc3339};
use crate::Error;
use crate::refund_state::RefundStatus;
use crate::refunds::Refund;

const COLUMNS: &str = "id, order_id, amount, currency, status, reason, created_at";

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    order_id: String,
    amount: i64,
    currency: String,
    status: String,
    reason: Option<String>,
    created_at: i64,
}

impl TryFrom<Row> for Refund {
    type Error = Error;

    fn try_from(row: Row) -> Result<Refund, Error> {
        let corrupt = |what: &str| Error::Corrupt(format!("stored refund has an invalid {what}"));
        let currency = Currency::parse(&row.currency).map_err(|_| corrupt("currency"))?;
        Ok(Refund {
            id: row.id,
            order_id: OrderId::parse(&row.order_id).map_err(|_| corrupt("order"))?,
            amount: Money::new(row.amount, currency).map_err(|_| corrupt("amount"))?,
            status: RefundStatus::parse(&row.status).ok_or_else(|| corrupt("status"))?,
            reason: row.reason,
            created_at: rfc3339(row.created_at),
        })
    }
}

pub async fn find(db: &Db, store: &StoreId, id: &str) -> Result<Option<Refund>, Error> {
    let sql = format!("SELECT {COLUMNS} FROM refunds WHERE store_id = $1 AND id = $2");
    let row: Option<Row> = sqlx::query_as(&sql).bind(store.as_str()).bind(id).fetch_optional(db.reader()).await?;
    row.map(Refund::try_from).transpose()
}

/// The refund of the order an earlier request with this Idempotency-Key made.
pub async fn by_request_key(
    conn: &mut AnyConnection,
    store: &StoreId,
    order: &OrderId,
    key: &str,
) -> Result<Option<Refund>, Error> {
    let sql = format!("SELECT {COLUMNS} FROM refunds WHERE store_id = $1 AND order_id = $2 AND request_key = $3");
    let row: Option<Row> =
        sqlx::query_as(&sql).bind(store.as_str()).bind(order.as_str()).bind(key).fetch_optional(conn).await?;
    row.map(Refund::try_from).transpose()
}

/// A refund Paylet asks the gateway for, of the attempt's payment.
pub struct Requested<'a> {
    pub refund: &'a Refund,
    pub attempt_id: &'a str,
    pub store: &'a StoreId,
    pub check_at: i64,
    pub now: i64,
    pub request_key: Option<String>,
}

pub async fn insert(conn: &mut AnyConnection, r: Requested<'_>) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO refunds (id, attempt_id, order_id, store_id, amount, currency, status, reason, check_at, \
         created_at, updated_at, request_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11)",
    )
    .bind(&r.refund.id)
    .bind(r.attempt_id)
    .bind(r.refund.order_id.as_str())
    .bind(r.store.as_str())
    .bind(r.refund.amount.amount())
    .bind(r.refund.amount.currency().code())
    .bind(r.refund.status.as_str())
    .bind(r.refund.reason.as_deref())
    .bind(r.check_at)
    .bind(r.now)
    .bind(r.request_key)
    .execute(conn)
    .await?;
    Ok(())
}

/// A refund made at the gateway (its dashboard), already in state `to`.
pub struct MadeElsewhere<'a> {
    pub id: String,
    pub attempt_id: &'a str,
    pub order: &'a OrderId,
    pub store: &'a StoreId,
    pub amount: Money,
    pub status: RefundStatus,
    pub gateway_id: &'a str,
    pub now: i64,
}

pub async fn insert_made_elsewhere(conn: &mut AnyConnection, r: MadeElsewhere<'_>) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO refunds (id, attempt_id, order_id, store_id, amount, currency, status, reason, gateway_refund_id, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'made at the gateway', $8, $9, $9)",
    )
    .bind(r.id)
    .bind(r.attempt_id)
    .bind(r.order.as_str())
    .bind(r.store.as_str())
    .bind(r.amount.amount())
    .bind(r.amount.currency().code())
    .bind(r.status.as_str())
    .bind(r.gateway_id)
    .bind(r.now)
    .execute(conn)
    .await?;
    Ok(())
}

/// The sum of the order's refunds in `status` or `or_status`, in minor units.
pub async fn total(
    conn: &mut AnyConnection,
    order: &OrderId,
    status: RefundStatus,
    or_status: RefundStatus,
) -> Result<i64, Error> {
    Ok(sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM refunds \
         WHERE order_id = $1 AND (status = $2 OR status = $3)",
    )
    .bind(order.as_str())
    .bind(status.as_str())
    .bind(or_status.as_str())
    .fetch_one(conn)
    .await?)
}

/// The gateway's id for the refund, from its answer (`failed` if it said so),
/// unless its event came first and already gave this id to a refund.
pub async fn answered(db: &Db, refund: &str, gateway_id: &str, failed: bool, now: i64) -> Result<(), Error> {
    let sql = "UPDATE refunds SET gateway_refund_id = $1, \
               status = CASE WHEN $2 = 1 AND status = 'pending' THEN 'failed' ELSE status END, updated_at = $3 \
               WHERE id = $4 AND gateway_refund_id IS NULL \
               AND NOT EXISTS (SELECT 1 FROM refunds r WHERE r.store_id = refunds.store_id AND r.gateway_refund_id = $5)";
    let args = vec![
        Arg::Text(gateway_id.into()),
        Arg::Int(i64::from(failed)),
        Arg::Int(now),
        Arg::Text(refund.into()),
        Arg::Text(gateway_id.into()),
    ];
    db.execute(sql, args).await
}

/// Refused without effect: the refund failed and its request key is free for another try.
pub async fn refused(db: &Db, refund: &str, now: i64) -> Result<(), Error> {
    let sql =
        "UPDATE refunds SET status = 'failed', check_at = NULL, request_key = NULL, updated_at = $1 WHERE id = $2";
    db.execute(sql, vec![Arg::Int(now), Arg::Text(refund.into())]).await
}

/// Settles the store's pending refund the gateway knows as `gateway_id`; whether one moved.
pub async fn settle_known(
    conn: &mut AnyConnection,
    store: &StoreId,
    gateway_id: &str,
    to: RefundStatus,
    now: i64,
) -> Result<bool, Error> {
    let moved = sqlx::query(
        "UPDATE refunds SET status = $1, check_at = NULL, updated_at = $2 \
         WHERE store_id = $3 AND gateway_refund_id = $4 AND status = 'pending'",
    )
    .bind(to.as_str())
    .bind(now)
    .bind(store.as_str())
    .bind(gateway_id)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(moved > 0)
}

/// Gives `gateway_id` to the oldest pending refund of the attempt for
/// `amount` that has no gateway id yet, and settles it; whether there was one.
pub async fn settle_unanswered(
    conn: &mut AnyConnection,
    attempt: &str,
    amount: i64,
    (gateway_id, to): (&str, RefundStatus),
    now: i64,
) -> Result<bool, Error> {
    let claimed = sqlx::query(
        "UPDATE refunds SET gateway_refund_id = $1, status = $2, check_at = NULL, updated_at = $3 WHERE id = \
         (SELECT id FROM refunds WHERE attempt_id = $4 AND gateway_refund_id IS NULL AND status = 'pending' \
         AND amount = $5 ORDER BY created_at, id LIMIT 1)",
    )
    .bind(gateway_id)
    .bind(to.as_str())
    .bind(now)
    .bind(attempt)
    .bind(amount)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(claimed > 0)
}

/// Whether the store has a refund the gateway knows as `gateway_id`.
pub async fn is_known(conn: &mut AnyConnection, store: &StoreId, gateway_id: &str) -> Result<bool, Error> {
    let known = sqlx::query("SELECT 1 AS known FROM refunds WHERE store_id = $1 AND gateway_refund_id = $2")
        .bind(store.as_str())
        .bind(gateway_id)
        .fetch_optional(conn)
        .await?;
    Ok(known.is_some())
}

/// A pending refund, with the payment it refunds.
#[derive(sqlx::FromRow)]
pub struct Pending {
    pub store_id: String,
    pub amount: i64,
    pub currency: String,
    pub gateway_refund_id: Option<String>,
    pub gateway_payment_id: String,
}

pub async fn pending(db: &Db, id: &str) -> Result<Option<Pending>, Error> {
    Ok(sqlx::query_as(
        "SELECT r.store_id, r.amount, r.currency, r.gateway_refund_id, a.gateway_payment_id FROM refunds r \
         JOIN payment_attempts a ON a.id = r.attempt_id WHERE r.id = $1 AND r.status = 'pending'",
    )
    .bind(id)
    .fetch_optional(db.reader())
    .await?)
}
