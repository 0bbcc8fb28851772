//! Idempotency keys, as the IETF Idempotency-Key draft and Stripe define them.
//!
//! Same key and body replay the stored response; the same key with another
//! body is 422; a duplicate arriving while the first is still running is 409;
//! keys expire after 24 hours. How a key is held depends on the work ([`Phase`]):
//! work that only writes to the database stores its key and response in the
//! same commit as its rows (one write, and a stored response exists exactly
//! when the rows do); work with effects outside the database (a gateway charge)
//! first commits a claim, so a duplicate sees it even if this process dies
//! mid-charge. A claim whose request died is taken over after a minute.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use sha2::{Digest, Sha256};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::db::{Arg, Batch, Db, now_millis};
use crate::{Error, ids};

const LOCK_TIMEOUT_MS: i64 = 60_000;
pub const LIFETIME_MS: i64 = 24 * 60 * 60 * 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The work's only effects are rows it commits in one [`Batch`] with
    /// [`Claim::save_in`].
    Atomic,
    /// The work reaches outside the database: claim the key durably first.
    Claimed,
}

/// Keys this process is running requests for, so a concurrent duplicate gets
/// 409 at once. (Across processes the database row decides.)
#[derive(Clone, Default)]
pub struct InFlight(Arc<Mutex<HashSet<String>>>);

struct Reservation {
    in_flight: InFlight,
    entry: String,
}

impl InFlight {
    fn reserve(&self, scope: &str, key: &str) -> Option<Reservation> {
        let entry = format!("{scope}\n{key}");
        let fresh = self.0.lock().unwrap_or_else(PoisonError::into_inner).insert(entry.clone());
        fresh.then(|| Reservation { in_flight: self.clone(), entry })
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.in_flight.0.lock().unwrap_or_else(PoisonError::into_inner).remove(&self.entry);
    }
}

/// The right to run a request under a key; store its response with
/// [`Claim::save_in`] or [`Claim::save`], or give the key back with [`Claim::release`].
pub struct Claim {
    scope: String,
    key: String,
    request_hash: String,
    /// Whether a row holding the claim is already stored.
    stored: bool,
    saved: AtomicBool,
    _reservation: Reservation,
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

pub async fn begin(
    db: &Db,
    in_flight: &InFlight,
    phase: Phase,
    scope: &str,
    key: &str,
    request_hash: &str,
) -> Result<Begin, Error> {
    let reservation = in_flight.reserve(scope, key).ok_or_else(|| in_use(key))?;
    let claim = |stored| Claim {
        scope: scope.to_owned(),
        key: key.to_owned(),
        request_hash: request_hash.to_owned(),
        stored,
        saved: AtomicBool::new(false),
        _reservation: reservation,
    };
    let token = match phase {
        Phase::Atomic => None,
        Phase::Claimed => {
            // The claim commits with whatever else is being written; this
            // request won it if the row carries its token.
            let token = ids::random_string(16);
            let mut batch = Batch::default();
            batch.add(
                "INSERT INTO idempotency_keys (scope, idempotency_key, request_hash, locked_at, locked_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $4) ON CONFLICT (scope, idempotency_key) DO NOTHING",
                vec![
                    Arg::Text(scope.into()),
                    Arg::Text(key.into()),
                    Arg::Text(request_hash.into()),
                    Arg::Int(now_millis()),
                    Arg::Text(token.clone()),
                ],
            );
            db.write_batch(batch).await?;
            Some(token)
        }
    };
    let Some(row) = stored(db, scope, key).await? else {
        return match phase {
            Phase::Atomic => Ok(Begin::Proceed(claim(false))),
            // Claimed and gone already: expired and swept in between.
            Phase::Claimed => Err(in_use(key)),
        };
    };
    if token.is_some() && row.try_get::<Option<String>, _>("locked_by")? == token {
        return Ok(Begin::Proceed(claim(true)));
    }
    match answer(db, &row, key, request_hash).await? {
        Some(replay) => Ok(replay),
        None => Ok(Begin::Proceed(claim(true))),
    }
}

async fn stored(db: &Db, scope: &str, key: &str) -> Result<Option<AnyRow>, Error> {
    Ok(sqlx::query(
        "SELECT scope, idempotency_key, request_hash, locked_at, locked_by, response_status, response_body, created_at \
         FROM idempotency_keys WHERE scope = $1 AND idempotency_key = $2",
    )
    .bind(scope)
    .bind(key)
    .fetch_optional(db.reader())
    .await?)
}

/// What a request gets when its key is already stored by another: the
/// replayed response, or an error; `None` when it took the key over.
async fn answer(db: &Db, row: &AnyRow, key: &str, request_hash: &str) -> Result<Option<Begin>, Error> {
    let now = now_millis();
    let created_at: i64 = row.try_get("created_at")?;
    let locked_at: Option<i64> = row.try_get("locked_at")?;
    let same_request = row.try_get::<String, _>("request_hash")? == request_hash;
    // An expired key, or the claim of a request that died: take it over, if
    // nobody else did first.
    let expired = now - created_at >= LIFETIME_MS;
    let abandoned = locked_at.is_some_and(|t| now - t >= LOCK_TIMEOUT_MS);
    if expired || (abandoned && same_request) {
        let taken = sqlx::query(
            "UPDATE idempotency_keys SET request_hash = $1, locked_at = $2, locked_by = NULL, response_status = NULL, \
             response_body = NULL, created_at = $3 WHERE scope = $4 AND idempotency_key = $5 AND created_at = $6 \
             AND (locked_at IS NULL OR locked_at = $7)",
        )
        .bind(request_hash)
        .bind(now)
        .bind(if expired { now } else { created_at })
        .bind(row.try_get::<String, _>("scope")?)
        .bind(key)
        .bind(created_at)
        .bind(locked_at.unwrap_or(0))
        .execute(db.writer())
        .await?
        .rows_affected();
        return if taken == 1 { Ok(None) } else { Err(in_use(key)) };
    }
    if !same_request {
        return Err(Error::Invalid {
            code: "idempotency_key_reused",
            message: format!(
                "The Idempotency-Key `{key}` was used with a different request. Use a new key for a new request."
            ),
            field: None,
        });
    }
    match (row.try_get::<Option<i64>, _>("response_status")?, row.try_get::<Option<String>, _>("response_body")?) {
        (Some(status), Some(sealed)) => {
            let body = open_response(db, &row.try_get::<String, _>("scope")?, key, &sealed)?;
            Ok(Some(Begin::Replay { status: u16::try_from(status).unwrap_or(200), body }))
        }
        _ => Err(in_use(key)),
    }
}

/// What binds a stored response to its row: another row's sealed response
/// copied here does not open.
fn response_context(scope: &str, key: &str) -> String {
    format!("idempotent response\n{scope}\n{key}")
}

/// A stored response is sealed like the stores' secrets: it may carry one (a
/// new order's client secret), and a stolen database must not.
fn seal_response(db: &Db, scope: &str, key: &str, body: &str) -> Result<String, Error> {
    Ok(db.keys()?.seal(body, &response_context(scope, key))?)
}

fn open_response(db: &Db, scope: &str, key: &str, sealed: &str) -> Result<String, Error> {
    match db.keys()?.open(sealed, &response_context(scope, key)) {
        Ok(body) => Ok(body.expose().clone()),
        // Stored before responses were sealed (kept 24 hours at most).
        Err(paylet_secret::KeyError::NotSealed) => Ok(sealed.to_owned()),
        Err(e) => Err(e.into()),
    }
}

/// After atomic work failed to commit: if another process stored the key
/// meanwhile, what this request gets instead of its own error.
pub async fn answer_after_failure(db: &Db, claim: &Claim) -> Result<Option<Begin>, Error> {
    if claim.stored {
        return Ok(None);
    }
    match stored(db, &claim.scope, &claim.key).await? {
        Some(row) => answer(db, &row, &claim.key, &claim.request_hash).await,
        None => Ok(None),
    }
}

fn in_use(key: &str) -> Error {
    Error::Conflict {
        code: "idempotency_key_in_use",
        message: format!("A request with the Idempotency-Key `{key}` is still being processed. Retry in a moment."),
    }
}

impl Claim {
    /// Adds storing the response (sealed) to `batch`, so it commits (or not)
    /// with the work; call [`Claim::saved`] once the batch is written.
    pub fn save_in(&self, db: &Db, batch: &mut Batch, status: u16, body: &str) -> Result<(), Error> {
        let body = seal_response(db, &self.scope, &self.key, body)?;
        let (status, body) = (Arg::Int(i64::from(status)), Arg::Text(body));
        let (scope, key) = (Arg::Text(self.scope.clone()), Arg::Text(self.key.clone()));
        if self.stored {
            batch.add(
                "UPDATE idempotency_keys SET response_status = $1, response_body = $2, locked_at = NULL, \
                 locked_by = NULL WHERE scope = $3 AND idempotency_key = $4",
                vec![status, body, scope, key],
            );
        } else {
            // A plain insert: if another process stored the key meanwhile,
            // the whole batch fails and nothing is done twice.
            batch.add(
                "INSERT INTO idempotency_keys (response_status, response_body, scope, idempotency_key, \
                 request_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
                vec![status, body, scope, key, Arg::Text(self.request_hash.clone()), Arg::Int(now_millis())],
            );
        }
        Ok(())
    }

    pub fn saved(&self) {
        self.saved.store(true, Ordering::Release);
    }

    /// Stores the response, unless the work already did with [`Claim::save_in`].
    pub async fn save(&self, db: &Db, status: u16, body: &str) -> Result<(), Error> {
        if !self.saved.load(Ordering::Acquire) {
            let mut batch = Batch::default();
            self.save_in(db, &mut batch, status, body)?;
            db.write_batch(batch).await?;
        }
        Ok(())
    }

    /// Gives the key back after a request that failed without effect, so the
    /// client may retry with it.
    pub async fn release(&self, db: &Db) -> Result<(), Error> {
        if self.stored {
            sqlx::query(
                "DELETE FROM idempotency_keys WHERE scope = $1 AND idempotency_key = $2 AND response_status IS NULL",
            )
            .bind(&self.scope)
            .bind(&self.key)
            .execute(db.writer())
            .await?;
        }
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
