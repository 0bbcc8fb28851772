//! The `admin_keys` table: a SHA-256 of each key, never the key.

use paylet_api::StoreId;

use super::{Arg, Db};
use crate::Error;

#[derive(sqlx::FromRow)]
pub struct Row {
    pub store_id: String,
    pub key_hash: String,
}

pub async fn insert(db: &Db, id: &str, store: &StoreId, key_hash: String, now: i64) -> Result<(), Error> {
    let args = vec![Arg::Text(id.to_owned()), Arg::Text(store.as_str().to_owned()), Arg::Text(key_hash), Arg::Int(now)];
    db.execute("INSERT INTO admin_keys (id, store_id, key_hash, created_at) VALUES ($1, $2, $3, $4)", args).await
}

/// Revokes every key of `store` still in force.
pub async fn revoke_all(db: &Db, store: &StoreId, now: i64) -> Result<(), Error> {
    let args = vec![Arg::Int(now), Arg::Text(store.as_str().to_owned())];
    db.execute("UPDATE admin_keys SET revoked_at = $1 WHERE store_id = $2 AND revoked_at IS NULL", args).await
}

/// The key with this id, unless revoked.
pub async fn in_force(db: &Db, id: &str) -> Result<Option<Row>, Error> {
    Ok(sqlx::query_as("SELECT store_id, key_hash FROM admin_keys WHERE id = $1 AND revoked_at IS NULL")
        .bind(id)
        .fetch_optional(db.reader())
        .await?)
}
