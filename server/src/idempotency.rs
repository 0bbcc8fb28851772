//! Idempotency keys, as the IETF Idempotency-Key draft and Stripe define them.
//!
//! A request with a key first claims it: a row committed before any work, so a
//! concurrent duplicate sees the claim and gets 409. When the work is done its
//! response is stored with the claim (for order creation, inside the same
//! transaction as the order, so a stored response exists exactly when the
//! order does) and later requests with the same key and body get it replayed.
//! The same key with another body is 422. A claim whose request died is taken
//! over after a minute; keys expire after 24 hours.

use std::sync::atomic::{AtomicBool, Ordering};

use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::Error;
use crate::db::{Db, Tx, now_millis};

const LOCK_TIMEOUT_MS: i64 = 60_000;
pub const LIFETIME_MS: i64 = 24 * 60 * 60 * 1000;

/// The right to run a request under a key; store its response with
/// [`Claim::save_in`] or [`Claim::save`], or give the key back with [`Claim::release`].
pub struct Claim {
    scope: String,
    key: String,
    saved: AtomicBool,
}

pub enum Begin {
    Proceed(Claim),
    Replay { status: u16, body: String },
}

pub fn check_key(key: &str) -> Result<(), Error> {
    if (1..=255).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(())
    } else {
        Err(Error::BadRequest {
            code: "invalid_idempotency_key",
            message: "An Idempotency-Key is 1 to 255 printable ASCII characters.".into(),
        })
    }
}

pub fn fingerprint(body: &[u8]) -> String {
    hex_digest(body)
}

fn hex_digest(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

pub async fn begin(db: &Db, scope: &str, key: &str, request_hash: &str) -> Result<Begin, Error> {
    let now = now_millis();
    let inserted = sqlx::query(
        "INSERT INTO idempotency_keys (scope, idempotency_key, request_hash, locked_at, created_at) \
         VALUES ($1, $2, $3, $4, $4) ON CONFLICT (scope, idempotency_key) DO NOTHING",
    )
    .bind(scope)
    .bind(key)
    .bind(request_hash)
    .bind(now)
    .execute(db.writer())
    .await?
    .rows_affected();
    let claim = || Claim { scope: scope.to_owned(), key: key.to_owned(), saved: AtomicBool::new(false) };
    if inserted == 1 {
        return Ok(Begin::Proceed(claim()));
    }

    let row = sqlx::query(
        "SELECT request_hash, locked_at, response_status, response_body, created_at FROM idempotency_keys \
         WHERE scope = $1 AND idempotency_key = $2",
    )
    .bind(scope)
    .bind(key)
    .fetch_optional(db.writer())
    .await?
    .ok_or_else(|| in_use(key))?;
    let created_at: i64 = row.try_get("created_at")?;
    let locked_at: Option<i64> = row.try_get("locked_at")?;
    // An expired key, or the claim of a request that died: take it over, if
    // nobody else did first.
    let expired = now - created_at >= LIFETIME_MS;
    let abandoned = locked_at.is_some_and(|t| now - t >= LOCK_TIMEOUT_MS);
    if expired || (abandoned && row.try_get::<String, _>("request_hash")? == request_hash) {
        let taken = sqlx::query(
            "UPDATE idempotency_keys SET request_hash = $1, locked_at = $2, response_status = NULL, \
             response_body = NULL, created_at = $3 WHERE scope = $4 AND idempotency_key = $5 AND created_at = $6 \
             AND (locked_at IS NULL OR locked_at = $7)",
        )
        .bind(request_hash)
        .bind(now)
        .bind(if expired { now } else { created_at })
        .bind(scope)
        .bind(key)
        .bind(created_at)
        .bind(locked_at.unwrap_or(0))
        .execute(db.writer())
        .await?
        .rows_affected();
        return if taken == 1 { Ok(Begin::Proceed(claim())) } else { Err(in_use(key)) };
    }
    if row.try_get::<String, _>("request_hash")? != request_hash {
        return Err(Error::Invalid {
            code: "idempotency_key_reused",
            message: format!(
                "The Idempotency-Key `{key}` was used with a different request. Use a new key for a new request."
            ),
            field: None,
        });
    }
    match (row.try_get::<Option<i64>, _>("response_status")?, row.try_get::<Option<String>, _>("response_body")?) {
        (Some(status), Some(body)) => Ok(Begin::Replay { status: u16::try_from(status).unwrap_or(200), body }),
        _ => Err(in_use(key)),
    }
}

fn in_use(key: &str) -> Error {
    Error::Conflict {
        code: "idempotency_key_in_use",
        message: format!("A request with the Idempotency-Key `{key}` is still being processed. Retry in a moment."),
    }
}

impl Claim {
    /// Stores the response inside `tx`, so it commits (or not) with the work.
    pub async fn save_in(&self, tx: &mut Tx, status: u16, body: &str) -> Result<(), Error> {
        self.update(&mut **tx, status, body).await?;
        self.saved.store(true, Ordering::Release);
        Ok(())
    }

    pub async fn save(&self, db: &Db, status: u16, body: &str) -> Result<(), Error> {
        if !self.saved.load(Ordering::Acquire) {
            self.update(db.writer(), status, body).await?;
        }
        Ok(())
    }

    async fn update<'e>(
        &self,
        executor: impl sqlx::Executor<'e, Database = sqlx::Any>,
        status: u16,
        body: &str,
    ) -> Result<(), Error> {
        sqlx::query(
            "UPDATE idempotency_keys SET response_status = $1, response_body = $2, locked_at = NULL \
             WHERE scope = $3 AND idempotency_key = $4",
        )
        .bind(i64::from(status))
        .bind(body)
        .bind(&self.scope)
        .bind(&self.key)
        .execute(executor)
        .await?;
        Ok(())
    }

    /// Gives the key back after a request that failed without effect, so the
    /// client may retry with it.
    pub async fn release(&self, db: &Db) -> Result<(), Error> {
        sqlx::query(
            "DELETE FROM idempotency_keys WHERE scope = $1 AND idempotency_key = $2 AND response_status IS NULL",
        )
        .bind(&self.scope)
        .bind(&self.key)
        .execute(db.writer())
        .await?;
        Ok(())
    }
}

/// Deletes keys past their lifetime (run periodically).
pub async fn expire(db: &Db) -> Result<u64, Error> {
    let cutoff = now_millis() - LIFETIME_MS;
    Ok(sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
        .bind(cutoff)
        .execute(db.writer())
        .await?
        .rows_affected())
}
