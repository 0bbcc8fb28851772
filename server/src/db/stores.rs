//! The `stores` table. Secrets are stored sealed; the rows here carry them as
//! sealed text, and `stores` opens them.

use sqlx::Row as _;

use super::{Arg, Db};
use crate::Error;

const COLUMNS: &str = "id, name, currency, payment_methods, allowed_origins, gateway_style, gateway_api_base, \
                       gateway_public_key, gateway_secret_key, gateway_location_id, webhook_endpoint_id, webhook_url, \
                       webhook_secret, webhook_secret_previous, webhook_secret_previous_until, notify_url, notify_secret, \
                       card_fields";

/// A store as stored: lists space-separated, secrets sealed.
#[derive(sqlx::FromRow)]
pub struct Row {
    pub id: String,
    pub name: String,
    pub currency: String,
    pub payment_methods: String,
    pub allowed_origins: String,
    pub gateway_style: String,
    pub gateway_api_base: String,
    pub gateway_public_key: String,
    pub gateway_secret_key: String,
    pub gateway_location_id: Option<String>,
    pub webhook_endpoint_id: Option<String>,
    pub webhook_url: Option<String>,
    pub webhook_secret: Option<String>,
    pub webhook_secret_previous: Option<String>,
    pub webhook_secret_previous_until: Option<i64>,
    pub notify_url: Option<String>,
    pub notify_secret: Option<String>,
    pub card_fields: String,
}

pub async fn find(db: &Db, id: &str) -> Result<Option<Row>, Error> {
    let sql = format!("SELECT {COLUMNS} FROM stores WHERE id = $1");
    Ok(sqlx::query_as(&sql).bind(id).fetch_optional(db.reader()).await?)
}

/// Every store, oldest first.
pub async fn list(db: &Db) -> Result<Vec<Row>, Error> {
    let sql = format!("SELECT {COLUMNS} FROM stores ORDER BY created_at, id");
    Ok(sqlx::query_as(&sql).fetch_all(db.reader()).await?)
}

/// Creates the store or replaces its settings. The webhook endpoint and its
/// secret are replaced only where `row` has them; the previous webhook secret
/// and the notification endpoint, which have their own writes, stay as they are.
pub async fn put(db: &Db, row: Row, now: i64) -> Result<(), Error> {
    let sql = "INSERT INTO stores (id, name, currency, allowed_origins, gateway_style, gateway_api_base, \
         gateway_public_key, gateway_secret_key, gateway_location_id, created_at, payment_methods, \
         webhook_endpoint_id, webhook_url, webhook_secret, card_fields) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, currency = excluded.currency, \
         payment_methods = excluded.payment_methods, allowed_origins = excluded.allowed_origins, \
         gateway_style = excluded.gateway_style, gateway_api_base = excluded.gateway_api_base, \
         gateway_public_key = excluded.gateway_public_key, gateway_secret_key = excluded.gateway_secret_key, \
         gateway_location_id = excluded.gateway_location_id, card_fields = excluded.card_fields, \
         webhook_endpoint_id = COALESCE(excluded.webhook_endpoint_id, stores.webhook_endpoint_id), \
         webhook_url = COALESCE(excluded.webhook_url, stores.webhook_url), \
         webhook_secret = COALESCE(excluded.webhook_secret, stores.webhook_secret)";
    let args = vec![
        Arg::Text(row.id),
        Arg::Text(row.name),
        Arg::Text(row.currency),
        Arg::Text(row.allowed_origins),
        Arg::Text(row.gateway_style),
        Arg::Text(row.gateway_api_base),
        Arg::Text(row.gateway_public_key),
        Arg::Text(row.gateway_secret_key),
        Arg::OptText(row.gateway_location_id),
        Arg::Int(now),
        Arg::Text(row.payment_methods),
        Arg::OptText(row.webhook_endpoint_id),
        Arg::OptText(row.webhook_url),
        Arg::OptText(row.webhook_secret),
        Arg::Text(row.card_fields),
    ];
    db.execute(sql, args).await
}

/// Whether there was such a store.
pub async fn set_card_fields(db: &Db, id: &str, card_fields: &str) -> Result<bool, Error> {
    let args = vec![Arg::Text(card_fields.to_owned()), Arg::Text(id.to_owned())];
    Ok(db.changed("UPDATE stores SET card_fields = $1 WHERE id = $2", args).await? > 0)
}

/// A new webhook secret (sealed); the one it replaces is kept until `previous_until`.
pub async fn set_webhook(
    db: &Db,
    id: &str,
    endpoint_id: Option<&str>,
    url: &str,
    sealed: String,
    previous_until: i64,
) -> Result<(), Error> {
    let sql = "UPDATE stores SET webhook_endpoint_id = COALESCE($1, webhook_endpoint_id), webhook_url = $2, \
               webhook_secret_previous = webhook_secret, webhook_secret_previous_until = $3, webhook_secret = $4 \
               WHERE id = $5";
    let args = vec![
        Arg::OptText(endpoint_id.map(str::to_owned)),
        Arg::Text(url.to_owned()),
        Arg::Int(previous_until),
        Arg::Text(sealed),
        Arg::Text(id.to_owned()),
    ];
    db.execute(sql, args).await
}

/// The merchant's notification endpoint and its secret (sealed), or none.
pub async fn set_notify(db: &Db, id: &str, url: Option<&str>, sealed: Option<String>) -> Result<(), Error> {
    let args = vec![Arg::OptText(url.map(str::to_owned)), Arg::OptText(sealed), Arg::Text(id.to_owned())];
    db.execute("UPDATE stores SET notify_url = $1, notify_secret = $2 WHERE id = $3", args).await
}

/// The columns that hold a sealed secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretColumn {
    Gateway,
    Webhook,
    WebhookPrevious,
    Notify,
}

impl SecretColumn {
    pub const ALL: [SecretColumn; 4] =
        [SecretColumn::Gateway, SecretColumn::Webhook, SecretColumn::WebhookPrevious, SecretColumn::Notify];

    fn name(self) -> &'static str {
        match self {
            SecretColumn::Gateway => "gateway_secret_key",
            SecretColumn::Webhook => "webhook_secret",
            SecretColumn::WebhookPrevious => "webhook_secret_previous",
            SecretColumn::Notify => "notify_secret",
        }
    }
}

/// Each store's sealed secrets, with the column each is in.
pub async fn secrets(db: &Db) -> Result<Vec<(String, Vec<(SecretColumn, String)>)>, Error> {
    let names: Vec<&str> = SecretColumn::ALL.iter().map(|c| c.name()).collect();
    let rows = sqlx::query(&format!("SELECT id, {} FROM stores", names.join(", "))).fetch_all(db.reader()).await?;
    rows.iter()
        .map(|row| {
            let mut sealed = Vec::new();
            for column in SecretColumn::ALL {
                if let Some(value) = row.try_get::<Option<String>, _>(column.name())? {
                    sealed.push((column, value));
                }
            }
            Ok((row.try_get("id")?, sealed))
        })
        .collect()
}

/// Replaces a sealed secret, unless it changed meanwhile (it is no longer `old`).
pub async fn replace_secret(db: &Db, id: &str, column: SecretColumn, old: &str, new: String) -> Result<(), Error> {
    // The column's name is one of the constants above; the values are bound.
    let sql = format!("UPDATE stores SET {0} = $1 WHERE id = $2 AND {0} = $3", column.name());
    db.execute(&sql, vec![Arg::Text(new), Arg::Text(id.to_owned()), Arg::Text(old.to_owned())]).await
}

/// The store's notification URL and secret (sealed), in the transaction on `conn`.
pub async fn notify_endpoint(
    conn: &mut sqlx::AnyConnection,
    id: &str,
) -> Result<(Option<String>, Option<String>), Error> {
    Ok(sqlx::query_as("SELECT notify_url, notify_secret FROM stores WHERE id = $1").bind(id).fetch_one(conn).await?)
}
