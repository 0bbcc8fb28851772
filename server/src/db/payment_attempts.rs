//! The `payment_attempts` table: each try to pay an order.

use paylet_api::{Currency, Money, OrderId, StoreId};
use paylet_gateway::DeclineCode;
use sqlx::AnyConnection;

use super::{Arg, Backend, Db};
use crate::Error;
use crate::attempt_state::{AttemptKind, AttemptStatus};
use crate::payments::Attempt;

const COLUMNS: &str = "id, order_id, kind, token, status, amount, currency, gateway_payment_id, hosted_session_id, \
                       hosted_link_id, redirect_url, verification_token, decline_code, created_at";

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    order_id: String,
    kind: String,
    token: Option<String>,
    status: String,
    amount: i64,
    currency: String,
    gateway_payment_id: Option<String>,
    hosted_session_id: Option<String>,
    hosted_link_id: Option<String>,
    redirect_url: Option<String>,
    verification_token: Option<String>,
    decline_code: Option<String>,
    created_at: i64,
}

impl TryFrom<Row> for Attempt {
    type Error = Error;

    fn try_from(row: Row) -> Result<Attempt, Error> {
        let corrupt = |what: &str| Error::Corrupt(format!("stored payment attempt has an invalid {what}"));
        let currency = Currency::parse(&row.currency).map_err(|_| corrupt("currency"))?;
        Ok(Attempt {
            id: row.id,
            order_id: OrderId::parse(&row.order_id).map_err(|_| corrupt("order"))?,
            kind: AttemptKind::parse(&row.kind).ok_or_else(|| corrupt("kind"))?,
            token: row.token,
            status: AttemptStatus::parse(&row.status).ok_or_else(|| corrupt("status"))?,
            amount: Money::new(row.amount, currency).map_err(|_| corrupt("amount"))?,
            gateway_payment_id: row.gateway_payment_id,
            hosted_session_id: row.hosted_session_id,
            hosted_link_id: row.hosted_link_id,
            redirect_url: row.redirect_url,
            verification_token: row.verification_token,
            decline: row.decline_code.as_deref().map(DeclineCode::parse),
            created_at: row.created_at,
        })
    }
}

/// The attempt, locked for the rest of the transaction on `conn` where the engine locks rows.
pub async fn lock(conn: &mut AnyConnection, id: &str) -> Result<Option<Attempt>, Error> {
    let sql = format!("SELECT {COLUMNS} FROM payment_attempts WHERE id = $1{}", Backend::of(conn).for_update());
    let row: Option<Row> = sqlx::query_as(&sql).bind(id).fetch_optional(conn).await?;
    row.map(Attempt::try_from).transpose()
}

/// The order's attempts, oldest first (an order has a handful at most).
pub async fn of_order(conn: &mut AnyConnection, order: &OrderId) -> Result<Vec<Attempt>, Error> {
    let sql = format!("SELECT {COLUMNS} FROM payment_attempts WHERE order_id = $1 ORDER BY created_at, id");
    let rows: Vec<Row> = sqlx::query_as(&sql).bind(order.as_str()).fetch_all(conn).await?;
    rows.into_iter().map(Attempt::try_from).collect()
}

/// A new attempt of the store's, first checked on at `check_at`.
pub async fn insert(conn: &mut AnyConnection, store: &StoreId, attempt: &Attempt, check_at: i64) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO payment_attempts (id, order_id, store_id, kind, token, status, amount, currency, \
         hosted_session_id, redirect_url, verification_token, check_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)",
    )
    .bind(&attempt.id)
    .bind(attempt.order_id.as_str())
    .bind(store.as_str())
    .bind(attempt.kind.as_str())
    .bind(attempt.token.as_deref())
    .bind(attempt.status.as_str())
    .bind(attempt.amount.amount())
    .bind(attempt.amount.currency().code())
    .bind(attempt.hosted_session_id.as_deref())
    .bind(attempt.redirect_url.as_deref())
    .bind(attempt.verification_token.as_deref())
    .bind(check_at)
    .bind(attempt.created_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// An attempt's move to `status`, with what the gateway said beside it.
pub struct Moved<'a> {
    pub status: AttemptStatus,
    /// Kept when the gateway names none this time.
    pub payment_id: Option<&'a str>,
    pub decline: Option<DeclineCode>,
    /// Kept when the gateway names none this time.
    pub redirect_url: Option<&'a str>,
    /// Settled attempts are checked on no more.
    pub settled: bool,
    pub now: i64,
}

pub async fn moved(conn: &mut AnyConnection, id: &str, m: Moved<'_>) -> Result<(), Error> {
    sqlx::query(
        "UPDATE payment_attempts SET status = $1, gateway_payment_id = COALESCE($2, gateway_payment_id), \
         decline_code = $3, redirect_url = COALESCE($4, redirect_url), \
         check_at = CASE WHEN $5 = 1 THEN NULL ELSE check_at END, updated_at = $6 WHERE id = $7",
    )
    .bind(m.status.as_str())
    .bind(m.payment_id)
    .bind(m.decline.map(DeclineCode::as_str))
    .bind(m.redirect_url)
    .bind(i64::from(m.settled))
    .bind(m.now)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Ends an attempt the gateway refused outright.
pub async fn fail(db: &Db, id: &str, now: i64) -> Result<(), Error> {
    let sql = "UPDATE payment_attempts SET status = $1, check_at = NULL, updated_at = $2 WHERE id = $3";
    db.execute(sql, vec![Arg::Text(AttemptStatus::Failed.as_str().into()), Arg::Int(now), Arg::Text(id.into())]).await
}

/// How many of the order's attempts were declined.
pub async fn declines(conn: &mut AnyConnection, order: &OrderId) -> Result<i64, Error> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM payment_attempts WHERE order_id = $1 AND status = $2")
        .bind(order.as_str())
        .bind(AttemptStatus::Declined.as_str())
        .fetch_one(conn)
        .await?)
}

/// A hosted page the gateway made for the attempt: its ids are kept whatever
/// happened meanwhile, and it opens if the attempt was still `processing`.
/// The attempt's status now.
pub async fn page_made(
    conn: &mut AnyConnection,
    id: &str,
    (session_id, link_id, url): (String, Option<String>, String),
    now: i64,
) -> Result<String, Error> {
    sqlx::query(
        "UPDATE payment_attempts SET hosted_session_id = $1, hosted_link_id = $2, redirect_url = $3, \
         updated_at = $4, status = CASE WHEN status = $5 THEN $6 ELSE status END WHERE id = $7",
    )
    .bind(session_id)
    .bind(link_id)
    .bind(url)
    .bind(now)
    .bind(AttemptStatus::Processing.as_str())
    .bind(AttemptStatus::Open.as_str())
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(sqlx::query_scalar("SELECT status FROM payment_attempts WHERE id = $1").bind(id).fetch_one(conn).await?)
}

/// Where a gateway's event names one of the store's attempts.
#[derive(Debug, Clone, Copy)]
pub enum NamedBy {
    PaymentId,
    HostedSession,
}

/// The store's attempt the gateway names so: (attempt id, order id).
pub async fn named(
    conn: &mut AnyConnection,
    store: &StoreId,
    by: NamedBy,
    value: &str,
) -> Result<Option<(String, OrderId)>, Error> {
    let sql = match by {
        NamedBy::PaymentId => {
            "SELECT id, order_id FROM payment_attempts WHERE store_id = $1 AND gateway_payment_id = $2"
        }
        NamedBy::HostedSession => {
            "SELECT id, order_id FROM payment_attempts WHERE store_id = $1 AND hosted_session_id = $2"
        }
    };
    let row = sqlx::query_as(sql).bind(store.as_str()).bind(value).fetch_optional(conn).await?;
    row.map(attempt_ids).transpose()
}

/// The order's latest card charge still `processing` with no gateway id:
/// one whose answer never came back.
pub async fn lost_answer(
    conn: &mut AnyConnection,
    store: &StoreId,
    order: &str,
) -> Result<Option<(String, OrderId)>, Error> {
    let row = sqlx::query_as(
        "SELECT id, order_id FROM payment_attempts WHERE store_id = $1 AND order_id = $2 AND kind = $3 \
         AND status = $4 AND gateway_payment_id IS NULL ORDER BY created_at DESC LIMIT 1",
    )
    .bind(store.as_str())
    .bind(order)
    .bind(AttemptKind::Card.as_str())
    .bind(AttemptStatus::Processing.as_str())
    .fetch_optional(conn)
    .await?;
    row.map(attempt_ids).transpose()
}

fn attempt_ids((id, order): (String, String)) -> Result<(String, OrderId), Error> {
    Ok((id, OrderId::parse(&order).map_err(|_| Error::Corrupt("stored attempt has a bad order".into()))?))
}

/// The order's captured payment: (attempt id, gateway payment id, amount).
pub async fn captured(conn: &mut AnyConnection, order: &OrderId) -> Result<Option<(String, String, Money)>, Error> {
    let row: Option<(String, String, i64, String)> = sqlx::query_as(
        "SELECT id, gateway_payment_id, amount, currency FROM payment_attempts \
         WHERE order_id = $1 AND status = $2 AND gateway_payment_id IS NOT NULL ORDER BY updated_at LIMIT 1",
    )
    .bind(order.as_str())
    .bind(AttemptStatus::Succeeded.as_str())
    .fetch_optional(conn)
    .await?;
    let Some((id, payment_id, amount, currency)) = row else { return Ok(None) };
    let currency = Currency::parse(&currency).map_err(|e| Error::Corrupt(e.to_string()))?;
    Ok(Some((id, payment_id, Money::new(amount, currency).map_err(|e| Error::Corrupt(e.to_string()))?)))
}

/// The store's succeeded attempt the gateway knows as `payment_id`: (attempt id, order id).
pub async fn succeeded(
    conn: &mut AnyConnection,
    store: &StoreId,
    payment_id: &str,
) -> Result<Option<(String, OrderId)>, Error> {
    let row = sqlx::query_as(
        "SELECT id, order_id FROM payment_attempts WHERE store_id = $1 AND gateway_payment_id = $2 AND status = $3",
    )
    .bind(store.as_str())
    .bind(payment_id)
    .bind(AttemptStatus::Succeeded.as_str())
    .fetch_optional(conn)
    .await?;
    row.map(attempt_ids).transpose()
}
