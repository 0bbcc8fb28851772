//! The `idempotency_keys` table: each key's request, claim and response.

use super::{Arg, Batch, Db};
use crate::Error;

/// A stored key. `response_body` is sealed.
#[derive(sqlx::FromRow)]
pub struct Row {
    pub request_hash: String,
    pub locked_at: Option<i64>,
    pub locked_by: Option<String>,
    pub response_status: Option<i64>,
    pub response_body: Option<String>,
    pub created_at: i64,
}

pub async fn find(db: &Db, scope: &str, key: &str) -> Result<Option<Row>, Error> {
    Ok(sqlx::query_as(
        "SELECT request_hash, locked_at, locked_by, response_status, response_body, created_at \
         FROM idempotency_keys WHERE scope = $1 AND idempotency_key = $2",
    )
    .bind(scope)
    .bind(key)
    .fetch_optional(db.reader())
    .await?)
}

/// Claims the key for the request holding `token`, unless it is stored already.
pub async fn claim(db: &Db, scope: &str, key: &str, request_hash: &str, token: &str, now: i64) -> Result<(), Error> {
    let sql = "INSERT INTO idempotency_keys (scope, idempotency_key, request_hash, locked_at, locked_by, created_at) \
               VALUES ($1, $2, $3, $4, $5, $4) ON CONFLICT (scope, idempotency_key) DO NOTHING";
    let args = vec![
        Arg::Text(scope.into()),
        Arg::Text(key.into()),
        Arg::Text(request_hash.into()),
        Arg::Int(now),
        Arg::Text(token.into()),
    ];
    db.execute(sql, args).await
}

/// Makes the key `request_hash`'s, claimed at `now` and created at
/// `created_at`, if it is still as `seen` was; whether it was.
pub async fn take_over(
    db: &Db,
    (scope, key): (&str, &str),
    seen: &Row,
    request_hash: &str,
    now: i64,
    created_at: i64,
) -> Result<bool, Error> {
    let sql = "UPDATE idempotency_keys SET request_hash = $1, locked_at = $2, locked_by = NULL, \
               response_status = NULL, response_body = NULL, created_at = $3 \
               WHERE scope = $4 AND idempotency_key = $5 AND created_at = $6 AND (locked_at IS NULL OR locked_at = $7)";
    let args = vec![
        Arg::Text(request_hash.into()),
        Arg::Int(now),
        Arg::Int(created_at),
        Arg::Text(scope.into()),
        Arg::Text(key.into()),
        Arg::Int(seen.created_at),
        Arg::Int(seen.locked_at.unwrap_or(0)),
    ];
    Ok(db.changed(sql, args).await? == 1)
}

/// A response to store, its body sealed.
pub struct Response<'a> {
    pub scope: &'a str,
    pub key: &'a str,
    pub request_hash: &'a str,
    pub status: u16,
    pub sealed_body: String,
    pub now: i64,
}

/// Adds storing `r` to `batch`: into the claim's row when `claimed`, else as
/// a new row, which fails the whole batch if another request stored the key
/// meanwhile.
pub fn save_in(batch: &mut Batch, claimed: bool, r: Response<'_>) {
    let (status, body) = (Arg::Int(i64::from(r.status)), Arg::Text(r.sealed_body));
    let (scope, key) = (Arg::Text(r.scope.into()), Arg::Text(r.key.into()));
    if claimed {
        batch.add(
            "UPDATE idempotency_keys SET response_status = $1, response_body = $2, locked_at = NULL, \
             locked_by = NULL WHERE scope = $3 AND idempotency_key = $4",
            vec![status, body, scope, key],
        );
    } else {
        batch.add(
            "INSERT INTO idempotency_keys (response_status, response_body, scope, idempotency_key, \
             request_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            vec![status, body, scope, key, Arg::Text(r.request_hash.into()), Arg::Int(r.now)],
        );
    }
}

/// Deletes the key if no response is stored under it.
pub async fn release(db: &Db, scope: &str, key: &str) -> Result<(), Error> {
    let sql = "DELETE FROM idempotency_keys WHERE scope = $1 AND idempotency_key = $2 AND response_status IS NULL";
    db.execute(sql, vec![Arg::Text(scope.into()), Arg::Text(key.into())]).await
}

/// Deletes keys created before `cutoff`; how many.
pub async fn expire(db: &Db, cutoff: i64) -> Result<u64, Error> {
    db.changed("DELETE FROM idempotency_keys WHERE created_at < $1", vec![Arg::Int(cutoff)]).await
}
