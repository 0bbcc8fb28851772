//! Admin API keys: `plk_{id}_{secret}`, one or more per store. Only a SHA-256
//! of the key is stored; a presented key is found by its id and its hash
//! compared in constant time.

use paylet_api::StoreId;
use paylet_secret::{Secret, constant_time_eq};

use crate::db::{Db, admin_keys, now_millis};
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
    admin_keys::insert(db, &id, store, ids::sha256_hex(&key), now_millis()).await?;
    Ok(Secret::new(key))
}

/// Revokes every key of `store`.
pub async fn revoke_all(db: &Db, store: &StoreId) -> Result<(), Error> {
    admin_keys::revoke_all(db, store, now_millis()).await
}

pub async fn authenticate(db: &Db, presented: &str) -> Result<AdminKey, Error> {
    let id = presented
        .strip_prefix(PREFIX)
        .and_then(|rest| rest.split_once('_'))
        .map(|(id, _)| id)
        .ok_or(Error::Unauthorized)?;
    let key = admin_keys::in_force(db, id).await?.ok_or(Error::Unauthorized)?;
    if !constant_time_eq(key.key_hash.as_bytes(), ids::sha256_hex(presented).as_bytes()) {
        return Err(Error::Unauthorized);
    }
    Ok(AdminKey { id: id.to_owned(), store_id: StoreId::parse(&key.store_id).map_err(|_| Error::Unauthorized)? })
}
