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

use crate::db::idempotency_keys as keys;
use crate::db::{Batch, Db, now_millis};
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
            keys::claim(db, scope, key, request_hash, &token, now_millis()).await?;
            Some(token)
        }
    };
    let Some(row) = keys::find(db, scope, key).await? else {
        return match phase {
            Phase::Atomic => Ok(Begin::Proceed(claim(false))),
            // Claimed and gone already: expired and swept in between.
            Phase::Claimed => Err(in_use(key)),
        };
    };
    if token.is_some() && row.locked_by == token {
        return Ok(Begin::Proceed(claim(true)));
    }
    match answer(db, &row, scope, key, request_hash).await? {
        Some(replay) => Ok(replay),
        None => Ok(Begin::Proceed(claim(true))),
    }
}

/// What a request gets when its key is already stored by another: the
/// replayed response, or an error; `None` when it took the key over.
async fn answer(db: &Db, row: &keys::Row, scope: &str, key: &str, request_hash: &str) -> Result<Option<Begin>, Error> {
    let now = now_millis();
    let same_request = row.request_hash == request_hash;
    // An expired key, or the claim of a request that died: take it over, if
    // nobody else did first.
    let expired = now - row.created_at >= LIFETIME_MS;
    let abandoned = row.locked_at.is_some_and(|t| now - t >= LOCK_TIMEOUT_MS);
    if expired || (abandoned && same_request) {
        let created_at = if expired { now } else { row.created_at };
        let taken = keys::take_over(db, (scope, key), row, request_hash, now, created_at).await?;
        return if taken { Ok(None) } else { Err(in_use(key)) };
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
    match (row.response_status, &row.response_body) {
        (Some(status), Some(sealed)) => {
            let body = open_response(db, scope, key, sealed)?;
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
    match keys::find(db, &claim.scope, &claim.key).await? {
        Some(row) => answer(db, &row, &claim.scope, &claim.key, &claim.request_hash).await,
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
        let response = keys::Response {
            scope: &self.scope,
            key: &self.key,
            request_hash: &self.request_hash,
            status,
            sealed_body: seal_response(db, &self.scope, &self.key, body)?,
            now: now_millis(),
        };
        keys::save_in(batch, self.stored, response);
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
            keys::release(db, &self.scope, &self.key).await?;
        }
        Ok(())
    }
}

/// Deletes keys past their lifetime (run periodically).
pub async fn expire(db: &Db) -> Result<u64, Error> {
    keys::expire(db, now_millis() - LIFETIME_MS).await
}
