//! The Square-style API under `/v2`, and its hosted pages.
//!
//! Square's real browser tokenization is internal to its Web Payments SDK; the
//! sandbox stands in for it with `POST /v2/card-nonces`, and for the SDK's
//! buyer verification (3-D Secure) with a hosted verification page.

mod error;
mod links;
mod nonces;
pub(crate) mod objects;
mod payments;
mod refunds;
mod subscriptions;
mod verify;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tower_http::cors::{Any, CorsLayer};

use crate::BODY_LIMIT;
use crate::accounts::Account;
use crate::idempotency::{self, Conflict, sha256_hex};
use crate::ids::{now_ms, rfc3339, uuid};
use crate::state::{Shared, World};
use crate::webhooks::Target;
pub(crate) use error::SquareError;
pub(crate) use refunds::settle_refunds;

pub(crate) fn router(shared: Arc<Shared>) -> Router<Arc<Shared>> {
    let browser = Router::new()
        .route("/v2/card-nonces", post(nonces::create))
        .route("/js/square/v1/verifications", post(verify::begin))
        .layer(
            CorsLayer::new()
                .allow_origin(Any)
                .allow_methods([Method::POST])
                .allow_headers([header::CONTENT_TYPE])
                .max_age(Duration::from_secs(300)),
        );
    let server = Router::new()
        .route("/v2/payments", post(payments::create))
        .route("/v2/payments/{id}", get(payments::retrieve))
        .route("/v2/payments/{id}/complete", post(payments::complete))
        .route("/v2/payments/{id}/cancel", post(payments::cancel))
        .route("/v2/refunds", post(refunds::create))
        .route("/v2/refunds/{id}", get(refunds::retrieve))
        .route("/v2/online-checkout/payment-links", post(links::create))
        .route("/v2/online-checkout/payment-links/{id}", get(links::retrieve).delete(links::delete))
        .route("/v2/orders/{id}", get(links::retrieve_order))
        .route("/v2/webhooks/subscriptions", post(subscriptions::create).get(subscriptions::list))
        .route("/v2/webhooks/subscriptions/{id}", get(subscriptions::retrieve).delete(subscriptions::delete))
        .route("/v2/webhooks/subscriptions/{id}/signature-key", post(subscriptions::rotate_key))
        .route("/v2/{*rest}", any(unrecognized));
    let hosted = Router::new()
        .route("/hosted/square/link/{id}", get(links::show).post(links::submit))
        .route("/hosted/square/link/{id}/verified", get(links::after_verification))
        .route("/hosted/square/verify/{nonce}", get(verify::show).post(verify::submit));
    browser.merge(server).layer(axum::middleware::from_fn_with_state(shared, idempotent)).merge(hosted)
}

async fn unrecognized(method: Method, request: Request) -> SquareError {
    SquareError::unrecognized(method.as_str(), request.uri().path())
}

/// A Square-style JSON request: its headers and its body as `T`.
pub(crate) struct SquareRequest<T> {
    pub headers: HeaderMap,
    pub body: T,
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for SquareRequest<T> {
    type Rejection = SquareError;

    async fn from_request(request: Request, _: &S) -> Result<Self, SquareError> {
        let (parts, body) = request.into_parts();
        let json = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().starts_with("application/json"));
        if !json {
            return Err(SquareError::invalid("INVALID_CONTENT_TYPE", "Expected Content-Type: application/json."));
        }
        let bytes = axum::body::to_bytes(body, BODY_LIMIT).await.map_err(|_| SquareError::too_large())?;
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        let body = serde_path_to_error::deserialize(&mut de).map_err(SquareError::from_json)?;
        Ok(SquareRequest { headers: parts.headers, body })
    }
}

/// The account whose access token the request carries.
pub(crate) fn authenticate(headers: &HeaderMap, w: &World) -> Result<Account, SquareError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(SquareError::malformed_authorization)?;
    w.square_account_by_token(token).cloned().ok_or_else(SquareError::unauthorized)
}

/// Square's `idempotency_key` body field: the first result is replayed.
async fn idempotent(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, BODY_LIMIT).await else {
        return SquareError::too_large().into_response();
    };
    let key = serde_json::from_slice::<Value>(&bytes)
        .ok()
        .and_then(|v| v.get("idempotency_key").and_then(Value::as_str).map(str::to_owned))
        .filter(|k| !k.is_empty());
    let request = Request::from_parts(parts, Body::from(bytes.clone()));
    let Some(key) = key else {
        return next.run(request).await;
    };
    let auth = request.headers().get(header::AUTHORIZATION).map(|v| v.as_bytes().to_vec()).unwrap_or_default();
    let scope = sha256_hex(&[&auth]);
    let fingerprint = sha256_hex(&[request.uri().path().as_bytes(), &bytes]);
    idempotency::run(shared, &scope, &key, &fingerprint, request, next, |conflict| match conflict {
        Conflict::InFlight => SquareError::idempotency_in_progress().into_response(),
        Conflict::Mismatch => SquareError::idempotency_reused().into_response(),
    })
    .await
}

/// Queues `{type}` about `object` to the account's subscriptions, in Square's
/// envelope: `{merchant_id, type, event_id, created_at, data: {type, id, object}}`.
pub(crate) fn emit(w: &mut World, account_id: &str, event_type: &str, object_type: &str, id: &str, object: Value) {
    let Some(account) = w.accounts.get(account_id) else { return };
    let (merchant_id, faults) = (account.merchant_id.clone(), account.faults.clone());
    let now = now_ms();
    let event_id = uuid();
    let payload = json!({
        "merchant_id": merchant_id,
        "type": event_type,
        "event_id": event_id,
        "created_at": rfc3339(now),
        "data": { "type": object_type, "id": id, "object": { object_type: object } },
    })
    .to_string();
    let subscriptions: Vec<String> = w
        .square
        .subscriptions
        .values()
        .filter(|s| s.account_id == account_id && s.enabled && s.wants(event_type))
        .map(|s| s.id.clone())
        .collect();
    for subscription_id in subscriptions {
        w.webhooks.enqueue(
            &faults,
            account_id,
            Target::Square { subscription_id },
            &event_id,
            event_type,
            payload.clone(),
            now,
        );
    }
}

/// The base URL of the sandbox as the caller reached it.
pub(crate) fn base_url(headers: &HeaderMap) -> String {
    crate::stripe::base_url(headers)
}
