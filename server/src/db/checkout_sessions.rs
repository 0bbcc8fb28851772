//! The `checkout_sessions` table: carts the merchant priced.

use paylet_api::{Currency, Money, StoreId};
use sqlx::AnyConnection;

use super::{Arg, Db};
use crate::Error;
use crate::checkout_sessions::Session;

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    store_id: String,
    currency: String,
    total_amount: i64,
    lines: String,
    customer_email: Option<String>,
    metadata: String,
    status: String,
    expires_at: i64,
    created_at: i64,
}

impl TryFrom<Row> for Session {
    type Error = Error;

    fn try_from(row: Row) -> Result<Session, Error> {
        let corrupt = |what: &str| Error::Corrupt(format!("stored checkout session has an invalid {what}"));
        let currency = Currency::parse(&row.currency).map_err(|_| corrupt("currency"))?;
        Ok(Session {
            id: row.id,
            store_id: StoreId::parse(&row.store_id).map_err(|_| corrupt("store"))?,
            lines: serde_json::from_str(&row.lines).map_err(|_| corrupt("lines"))?,
            total: Money::new(row.total_amount, currency).map_err(|_| corrupt("total"))?,
            customer_email: row.customer_email,
            metadata: serde_json::from_str(&row.metadata).map_err(|_| corrupt("metadata"))?,
            status: row.status,
            expires_at: row.expires_at,
            created_at: row.created_at,
        })
    }
}

pub async fn insert(db: &Db, session: &Session) -> Result<(), Error> {
    let lines = serde_json::to_string(&session.lines).map_err(|e| Error::Internal(e.to_string()))?;
    let metadata = serde_json::Value::Object(session.metadata.clone()).to_string();
    let sql = "INSERT INTO checkout_sessions \
               (id, store_id, currency, total_amount, lines, customer_email, metadata, status, expires_at, created_at) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
    let args = vec![
        Arg::Text(session.id.clone()),
        Arg::Text(session.store_id.as_str().to_owned()),
        Arg::Text(session.total.currency().code().to_owned()),
        Arg::Int(session.total.amount()),
        Arg::Text(lines),
        Arg::OptText(session.customer_email.clone()),
        Arg::Text(metadata),
        Arg::Text(session.status.clone()),
        Arg::Int(session.expires_at),
        Arg::Int(session.created_at),
    ];
    db.execute(sql, args).await
}

pub async fn find(db: &Db, id: &str) -> Result<Option<Session>, Error> {
    let row: Option<Row> = sqlx::query_as(
        "SELECT id, store_id, currency, total_amount, lines, customer_email, metadata, status, expires_at, created_at \
         FROM checkout_sessions WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(db.reader())
    .await?;
    row.map(Session::try_from).transpose()
}

/// Marks the session complete, in the transaction on `conn`.
pub async fn complete(conn: &mut AnyConnection, id: &str) -> Result<(), Error> {
    sqlx::query("UPDATE checkout_sessions SET status = 'complete' WHERE id = $1").bind(id).execute(conn).await?;
    Ok(())
}
