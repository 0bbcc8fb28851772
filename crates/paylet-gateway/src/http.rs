//! Sending a request to a gateway: bounded by the client's timeout, and
//! retried only when it is safe.

use std::time::Duration;

use reqwest::{RequestBuilder, StatusCode};

use crate::GatewayError;

/// Waits before each retry of a request that may be repeated.
const RETRY_DELAYS: [Duration; 2] = [Duration::from_millis(200), Duration::from_millis(1000)];

/// The longest one gateway call can take with its retries, when each try
/// takes up to `timeout`.
pub fn longest_call(timeout: Duration) -> Duration {
    timeout * (RETRY_DELAYS.len() as u32 + 1) + RETRY_DELAYS.iter().sum::<Duration>()
}

pub(crate) struct Reply {
    pub status: StatusCode,
    pub body: Vec<u8>,
}

/// Sends `build()`'s request; 5xx, 409 (the same key still in flight), 429
/// (the account's rate limit), timeouts and connection failures are retried. That is safe because every call
/// Paylet makes is a GET or carries an idempotency key: a repeat can never
/// charge or refund twice. The last failure is returned as an error; any other
/// answer as a [`Reply`].
pub(crate) async fn send(build: impl Fn() -> RequestBuilder) -> Result<Reply, GatewayError> {
    let mut delays = RETRY_DELAYS.iter();
    loop {
        let result = attempt(build()).await;
        match (&result, delays.next()) {
            (Err(e), Some(delay)) if e.is_indeterminate() => {
                tracing::warn!(error = %e, "gateway call failed; retrying with the same idempotency key");
                tokio::time::sleep(*delay).await;
            }
            _ => return result,
        }
    }
}

async fn attempt(request: RequestBuilder) -> Result<Reply, GatewayError> {
    let response = request.send().await.map_err(transport)?;
    let status = response.status();
    let path = response.url().path().to_owned();
    let body = response.bytes().await.map_err(transport)?.to_vec();

    if status.is_server_error() {
        return Err(GatewayError::ServerError { status: status.as_u16() });
    }
    match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Err(GatewayError::Authentication),
        StatusCode::CONFLICT => Err(GatewayError::InProgress),
        // Never a decline: the gateway did nothing, and asks to be asked later.
        StatusCode::TOO_MANY_REQUESTS => Err(GatewayError::RateLimited),
        // Both gateways answer every error with a JSON object; a 4xx without
        // one comes from something else at that URL.
        _ if status.is_client_error()
            && !serde_json::from_slice::<serde_json::Value>(&body).is_ok_and(|v| v.is_object()) =>
        {
            Err(GatewayError::NotOffered { status: status.as_u16(), path })
        }
        _ => Ok(Reply { status, body }),
    }
}

fn transport(e: reqwest::Error) -> GatewayError {
    if e.is_timeout() { GatewayError::Timeout } else { GatewayError::Unreachable(e) }
}

pub(crate) fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, GatewayError> {
    serde_json::from_slice(body).map_err(|e| GatewayError::Protocol(e.to_string()))
}
