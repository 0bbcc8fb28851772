//! Answering a request under its Idempotency-Key: replay the stored answer,
//! or run the work and store what it answered.

use std::future::Future;
use std::sync::Arc;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::extract::IdempotentJson;
use crate::Error;
use crate::app::AppState;
use crate::idempotency::{self, Begin, Claim, Phase};

/// Runs `work` (given the claim, when there is a key) and answers with its
/// status and JSON. `scope` separates keys: the route and who is calling.
/// Work in [`Phase::Atomic`] must store the response with [`Claim::save_in`].
pub async fn respond<T, R, F, Fut>(
    state: &AppState,
    phase: Phase,
    scope: &str,
    request: &IdempotentJson<T>,
    work: F,
) -> Result<Response, Error>
where
    R: Serialize,
    F: FnOnce(Option<Arc<Claim>>) -> Fut,
    Fut: Future<Output = Result<(StatusCode, R), Error>>,
{
    let Some(key) = &request.key else {
        let (status, value) = work(None).await?;
        return Ok(json(status, to_string(&value)?));
    };
    let db = &state.db;
    let claim = match idempotency::begin(db, &state.in_flight, phase, scope, key, &request.fingerprint).await? {
        Begin::Replay { status, body } => return Ok(replay(status, body)),
        Begin::Proceed(claim) => Arc::new(claim),
    };
    match work(Some(claim.clone())).await {
        Ok((status, value)) => {
            let body = to_string(&value)?;
            claim.save(db, status.as_u16(), &body).await?;
            Ok(json(status, body))
        }
        Err(e @ Error::Database(_)) => match idempotency::answer_after_failure(db, &claim).await? {
            // Another process stored the same key first.
            Some(Begin::Replay { status, body }) => Ok(replay(status, body)),
            _ => {
                claim.release(db).await?;
                Err(e)
            }
        },
        Err(e) => {
            // The work failed without effect: the key may be retried.
            claim.release(db).await?;
            Err(e)
        }
    }
}

fn replay(status: u16, body: String) -> Response {
    let mut response = json(StatusCode::from_u16(status).unwrap_or(StatusCode::OK), body);
    response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}

fn to_string<T: Serialize>(value: &T) -> Result<String, Error> {
    serde_json::to_string(value).map_err(|e| Error::Internal(format!("response did not serialize: {e}")))
}

fn json(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response()
}
