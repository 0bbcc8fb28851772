//! The Stripe-style API under `/v1`.

mod error;
pub(crate) mod objects;
mod params;
mod payment_intents;
mod tokens;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, Method, header};
use axum::routing::{get, post};
use base64::Engine;
use tower_http::cors::{Any, CorsLayer};

use crate::accounts::{Account, KeyKind};
use crate::state::Shared;
pub(crate) use error::StripeError;
pub(crate) use params::Params;

pub(crate) fn router() -> Router<Arc<Shared>> {
    // Browsers call these straight from any merchant's page, as they call Stripe.
    let browser = Router::new()
        .route("/v1/tokens", post(tokens::create_token))
        .route("/v1/payment_methods", post(tokens::create_payment_method))
        .layer(
            CorsLayer::new()
                .allow_origin(Any)
                .allow_methods([Method::POST])
                .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
                .max_age(Duration::from_secs(600)),
        );
    let server = Router::new()
        .route("/v1/payment_intents", post(payment_intents::create))
        .route("/v1/payment_intents/{id}", get(payment_intents::retrieve));
    browser.merge(server)
}

/// The API key of a request: `Authorization: Bearer KEY`, HTTP basic with the
/// key as user name (both as Stripe accepts), or a `key` form parameter, which
/// Stripe.js uses so browser calls need no CORS preflight.
fn api_key(headers: &HeaderMap, params: &Params) -> Option<String> {
    let auth = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    if let Some(auth) = auth {
        if let Some(key) = auth.strip_prefix("Bearer ") {
            return Some(key.trim().to_owned());
        }
        if let Some(encoded) = auth.strip_prefix("Basic ") {
            let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
            let user_pass = String::from_utf8(decoded).ok()?;
            return Some(user_pass.split(':').next().unwrap_or_default().to_owned());
        }
        return None;
    }
    params.get("key").map(str::to_owned)
}

pub(crate) fn authenticate(
    shared: &Shared,
    headers: &HeaderMap,
    params: &Params,
) -> Result<(Account, KeyKind), StripeError> {
    let key = api_key(headers, params).filter(|k| !k.is_empty()).ok_or_else(StripeError::no_api_key)?;
    shared.stripe_account_for_key(&key).ok_or_else(|| StripeError::invalid_api_key(&key))
}

pub(crate) fn authenticate_secret(
    shared: &Shared,
    headers: &HeaderMap,
    params: &Params,
) -> Result<Account, StripeError> {
    match authenticate(shared, headers, params)? {
        (account, KeyKind::Secret) => Ok(account),
        (_, KeyKind::Publishable) => Err(StripeError::secret_key_required()),
    }
}
