//! Answering a request under its Idempotency-Key: replay the stored answer,
//! or run the work and store what it answered.

use std::future::Future;
use std::sync::Arc;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::extract::IdempotentJson;
use crate::Error;
use crate::db::Db;
use crate::idempotency::{self, Begin, Claim};

/// Runs `work` (given the claim, when there is a key) and answers with its
/// status and JSON. `scope` separates keys: the route and who is calling.
pub async fn respond<T, R, F, Fut>(
    db: &Db,
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
    match idempotency::begin(db, scope, key, &request.fingerprint).await? {
        Begin::Replay { status, body } => {
            let mut response = json(StatusCode::from_u16(status).unwrap_or(StatusCode::OK), body);
            response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
            Ok(response)
        }
        Begin::Proceed(claim) => {
            let claim = Arc::new(claim);
            match work(Some(claim.clone())).await {
                Ok((status, value)) => {
                    let body = to_string(&value)?;
                    claim.save(db, status.as_u16(), &body).await?;
                    Ok(json(status, body))
                }
                Err(e) => {
                    // The work failed without effect: the key may be retried.
                    claim.release(db).await?;
                    Err(e)
                }
            }
        }
    }
}

fn to_string<T: Serialize>(value: &T) -> Result<String, Error> {
    serde_json::to_string(value).map_err(|e| Error::Config(format!("response did not serialize: {e}")))
}

fn json(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response()
}
