//! Idempotent requests, for both gateway styles: the first response to a key is
//! stored and replayed for 24 hours; the same key with other parameters, or
//! while the first request is still running, is refused.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::bounded::Bounded;
use crate::ids::now_ms;
use crate::state::Shared;

const LIFETIME_MS: i64 = 24 * 60 * 60 * 1000;

/// Put on a response whose request never started executing (bad parameters,
/// bad credentials, an injected failure): it is not stored, so the key may be
/// retried, as Stripe documents.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NotStored;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    fingerprint: String,
    created_ms: i64,
    response: Option<StoredResponse>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredResponse {
    status: u16,
    body: String,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct IdempotencyStore {
    entries: Bounded<Entry>,
}

/// Why a request could not run under its idempotency key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Conflict {
    /// The first request with this key is still running.
    InFlight,
    /// The key was used with different parameters.
    Mismatch,
}

enum Begin {
    Fresh,
    Replay(StoredResponse),
    Refused(Conflict),
}

impl IdempotencyStore {
    pub(crate) fn new(capacity: usize) -> IdempotencyStore {
        IdempotencyStore { entries: Bounded::new(capacity) }
    }

    fn begin(&mut self, id: &str, fingerprint: &str, now: i64) -> Begin {
        match self.entries.get(id) {
            Some(e) if now - e.created_ms < LIFETIME_MS => {
                if e.fingerprint != fingerprint {
                    Begin::Refused(Conflict::Mismatch)
                } else {
                    match &e.response {
                        Some(r) => Begin::Replay(r.clone()),
                        None => Begin::Refused(Conflict::InFlight),
                    }
                }
            }
            _ => {
                let entry = Entry { fingerprint: fingerprint.to_owned(), created_ms: now, response: None };
                self.entries.insert(id.to_owned(), entry);
                Begin::Fresh
            }
        }
    }

    fn finish(&mut self, id: &str, response: Option<StoredResponse>) {
        match response {
            Some(r) => {
                if let Some(e) = self.entries.get_mut(id) {
                    e.response = Some(r);
                }
            }
            None => {
                self.entries.remove(id);
            }
        }
    }
}

pub(crate) fn sha256_hex(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p);
    }
    hex::encode(h.finalize())
}

/// Runs `request` under `key`. `scope` separates callers (a hash of the
/// credential presented), so two accounts may use the same key. `conflict`
/// renders the style's own error for a refused request.
///
/// The request runs to the end and its answer is stored even if the client
/// hangs up first, as at a real gateway: a client that timed out must get
/// that answer when it retries, not a key stuck "in progress" forever.
pub(crate) async fn run(
    shared: Arc<Shared>,
    scope: &str,
    key: &str,
    fingerprint: &str,
    request: Request,
    next: Next,
    conflict: impl FnOnce(Conflict) -> Response,
) -> Response {
    let id = format!("{scope}:{key}");
    let begin = shared.write(|w| w.idempotency.begin(&id, fingerprint, now_ms()));
    match begin {
        Begin::Refused(c) => conflict(c),
        Begin::Replay(stored) => {
            let mut response = Response::new(Body::from(stored.body));
            *response.status_mut() = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
            response
        }
        Begin::Fresh => {
            let finished = tokio::spawn(async move {
                let response = next.run(request).await;
                let (parts, body) = response.into_parts();
                let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
                let stored = parts.extensions.get::<NotStored>().is_none().then(|| StoredResponse {
                    status: parts.status.as_u16(),
                    body: String::from_utf8_lossy(&bytes).into_owned(),
                });
                shared.write(|w| w.idempotency.finish(&id, stored));
                Response::from_parts(parts, Body::from(bytes))
            });
            finished.await.unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replays_refuses_and_expires() {
        let mut store = IdempotencyStore::new(10);
        assert!(matches!(store.begin("k", "a", 0), Begin::Fresh));
        assert!(matches!(store.begin("k", "a", 1), Begin::Refused(Conflict::InFlight)));
        store.finish("k", Some(StoredResponse { status: 200, body: "{}".into() }));
        assert!(matches!(store.begin("k", "a", 2), Begin::Replay(_)));
        assert!(matches!(store.begin("k", "b", 3), Begin::Refused(Conflict::Mismatch)));
        assert!(matches!(store.begin("k", "b", LIFETIME_MS + 1), Begin::Fresh));
    }

    #[test]
    fn an_unstored_result_frees_the_key() {
        let mut store = IdempotencyStore::new(10);
        assert!(matches!(store.begin("k", "a", 0), Begin::Fresh));
        store.finish("k", None);
        assert!(matches!(store.begin("k", "b", 1), Begin::Fresh));
    }

    #[test]
    fn fingerprints_separate_parts() {
        assert_ne!(sha256_hex(&[b"ab", b"c"]), sha256_hex(&[b"a", b"bc"]));
    }
}
