//! Admin API keys: `plk_{id}_{secret}`, one or more per store. Only a SHA-256
//! of the key is stored; a presented key is found by its id and its hash
//! compared in constant time.

use paylet_api::StoreId;
use paylet_secret::{Secret, constant_time_eq};
use sqlx::Row;

use crate::db::{Db, now_millis};
use crate::{Error, ids};

const PREFIX: &str = "plk_";

#[derive(Debug, Clone)]
pub struct AdminKey {
    pub id: String,
    pub store_id: StoreId,
}

/// Creates a key for `store`; the returned value is the only copy.
pub async fn create_key(db: &Db, store: &StoreId) -> Result<Secret, Error> {
    let id = ids::random_string(12);
    let key = format!("{PREFIX}{id}_{}", ids::random_string(32));
    sqlx::query("INSERT INTO admin_keys (id, store_id, key_hash, created_at) VALUES ($1, $2, $3, $4)")
        .bind(&id)
        .bind(store.as_str())
        .bind(ids::sha256_hex(&key))
        .bind(now_millis())
        .execute(db.writer())
        .await?;
    Ok(Secret::new(key))
}

/// Revokes every key of `store`.
pub async fn revoke_all(db: &Db, store: &StoreId) -> Result<(), Error> {
    sqlx::query("UPDATE admin_keys SET revoked_at = $1 WHERE store_id = $2 AND revoked_at IS NULL")
        .bind(now_millis())
        .bind(store.as_str())
        .execute(db.writer())
        .await?;
    Ok(())
}

pub async fn authenticate(db: &Db, presented: &str) -> Result<AdminKey, Error> {
    let id = presented
        .strip_prefix(PREFIX)
        .and_then(|rest| rest.split_once('_'))
        .map(|(id, _)| id)
        .ok_or(Error::Unauthorized)?;
    let row = sqlx::query("SELECT store_id, key_hash FROM admin_keys WHERE id = $1 AND revoked_at IS NULL")
        .bind(id)
        .fetch_optional(db.reader())
        .await?
        .ok_or(Error::Unauthorized)?;
    let stored: String = row.try_get("key_hash")?;
    if !constant_time_eq(stored.as_bytes(), ids::sha256_hex(presented).as_bytes()) {
        return Err(Error::Unauthorized);
    }
    let store: String = row.try_get("store_id")?;
    Ok(AdminKey { id: id.to_owned(), store_id: StoreId::parse(&store).map_err(|_| Error::Unauthorized)? })
}
