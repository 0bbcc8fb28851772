//! The Stripe-style API under `/v1`, and its hosted pages.

mod challenge;
mod checkout;
mod error;
mod events;
pub(crate) mod objects;
mod params;
mod payment_intents;
mod refunds;
mod tokens;
mod webhook_endpoints;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequest, Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use base64::Engine;
use tower_http::cors::{Any, CorsLayer};

use crate::BODY_LIMIT;
use crate::accounts::{Account, KeyKind};
use crate::idempotency::{self, Conflict, sha256_hex};
use crate::state::{Shared, World};
pub(crate) use error::StripeError;
pub(crate) use events::emit;
pub(crate) use params::Params;

/// The API version the sandbox's objects follow.
pub(crate) const API_VERSION: &str = "2024-06-20";

pub(crate) fn router(shared: Arc<Shared>) -> Router<Arc<Shared>> {
    // Browsers call these straight from any merchant's page, as they call Stripe.
    let browser = Router::new()
        .route("/v1/tokens", post(tokens::create_token))
        .route("/v1/payment_methods", post(tokens::create_payment_method))
        .layer(
            CorsLayer::new()
                .allow_origin(Any)
                .allow_methods([Method::POST])
                .allow_headers([
                    header::AUTHORIZATION,
                    header::CONTENT_TYPE,
                    "idempotency-key".parse().unwrap_or(header::CONTENT_TYPE),
                ])
                .max_age(Duration::from_secs(300)),
        );
    let server = Router::new()
        .route("/v1/payment_intents", post(payment_intents::create))
        .route("/v1/payment_intents/{id}", get(payment_intents::retrieve))
        .route("/v1/payment_intents/{id}/confirm", post(payment_intents::confirm))
        .route("/v1/payment_intents/{id}/cancel", post(payment_intents::cancel))
        .route("/v1/charges/{id}", get(refunds::retrieve_charge))
        .route("/v1/refunds", post(refunds::create).get(refunds::list))
        .route("/v1/refunds/{id}", get(refunds::retrieve))
        .route("/v1/checkout/sessions", post(checkout::create))
        .route("/v1/checkout/sessions/{id}", get(checkout::retrieve))
        .route("/v1/checkout/sessions/{id}/expire", post(checkout::expire))
        .route("/v1/webhook_endpoints", post(webhook_endpoints::create).get(webhook_endpoints::list))
        .route(
            "/v1/webhook_endpoints/{id}",
            get(webhook_endpoints::retrieve).post(webhook_endpoints::update).delete(webhook_endpoints::delete),
        )
        .route("/v1/events", get(events::list))
        .route("/v1/events/{id}", get(events::retrieve))
        .route("/v1/{*rest}", any(unrecognized));
    let hosted = Router::new()
        .route("/hosted/3ds/{id}", get(challenge::show).post(challenge::submit))
        .route("/hosted/checkout/{id}", get(checkout::show).post(checkout::submit))
        .route("/hosted/checkout/{id}/return", get(checkout::after_challenge));
    browser.merge(server).layer(axum::middleware::from_fn_with_state(shared, idempotent)).merge(hosted)
}

async fn unrecognized(method: Method, request: Request) -> StripeError {
    StripeError::unrecognized_url(method.as_str(), request.uri().path())
}

/// A Stripe-style request: form parameters (or the query string of a GET),
/// headers, and the caller's address.
pub(crate) struct StripeRequest {
    pub headers: HeaderMap,
    pub params: Params,
    pub peer: Option<IpAddr>,
}

impl<S: Send + Sync> FromRequest<S> for StripeRequest {
    type Rejection = StripeError;

    async fn from_request(request: Request, _: &S) -> Result<Self, StripeError> {
        let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        let (parts, body) = request.into_parts();
        let params = if parts.method == Method::GET || parts.method == Method::DELETE {
            Params::parse(&HeaderMap::new(), parts.uri.query().unwrap_or_default().as_bytes())?
        } else {
            let bytes = axum::body::to_bytes(body, BODY_LIMIT).await.map_err(|_| StripeError::too_large())?;
            Params::parse(&parts.headers, &bytes)?
        };
        Ok(StripeRequest { headers: parts.headers, params, peer })
    }
}

impl StripeRequest {
    /// The API version the request asks for (`Stripe-Version`), or the account's.
    pub(crate) fn api_version(&self) -> &str {
        self.headers.get("stripe-version").and_then(|v| v.to_str().ok()).unwrap_or(API_VERSION)
    }
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
        let decoded = base64::engine::general_purpose::STANDARD.decode(auth.strip_prefix("Basic ")?.trim()).ok()?;
        let user_pass = String::from_utf8(decoded).ok()?;
        return Some(user_pass.split(':').next().unwrap_or_default().to_owned());
    }
    params.get("key").map(str::to_owned)
}

impl StripeRequest {
    pub(crate) fn account(&self, world: &World) -> Result<(Account, KeyKind), StripeError> {
        let key = api_key(&self.headers, &self.params).filter(|k| !k.is_empty()).ok_or_else(StripeError::no_api_key)?;
        world.stripe_account(&key).map(|(a, kind)| (a.clone(), kind)).ok_or_else(|| StripeError::invalid_api_key(&key))
    }

    /// The account, when the request carries its secret key.
    pub(crate) fn secret_account(&self, world: &World) -> Result<Account, StripeError> {
        match self.account(world)? {
            (account, KeyKind::Secret) => Ok(account),
            (_, KeyKind::Publishable) => Err(StripeError::secret_key_required()),
        }
    }

    /// This sandbox's base URL as the caller reached it, for links it hands out.
    pub(crate) fn base_url(&self) -> String {
        base_url(&self.headers)
    }

    pub(crate) fn idempotency_key(&self) -> Option<String> {
        self.headers.get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_owned)
    }
}

pub(crate) fn base_url(headers: &HeaderMap) -> String {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1:12111");
    format!("http://{host}")
}

/// `Idempotency-Key` on any POST: the first result is replayed for 24 hours.
async fn idempotent(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let key = request.headers().get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let Some(key) = key.filter(|_| request.method() == Method::POST) else {
        return next.run(request).await;
    };
    if key.len() > 255 {
        return StripeError::idempotency_key_too_long().into_response();
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, BODY_LIMIT).await else {
        return StripeError::too_large().into_response();
    };
    let params = Params::parse(&parts.headers, &bytes).unwrap_or_default();
    let scope = sha256_hex(&[api_key(&parts.headers, &params).unwrap_or_default().as_bytes()]);
    let fingerprint = sha256_hex(&[parts.method.as_str().as_bytes(), parts.uri.path().as_bytes(), &bytes]);
    let request = Request::from_parts(parts, Body::from(bytes));
    idempotency::run(shared, &scope, &key, &fingerprint, request, next, |conflict| match conflict {
        Conflict::InFlight => StripeError::idempotency_in_use(&key).into_response(),
        Conflict::Mismatch => StripeError::idempotency_mismatch(&key).into_response(),
    })
    .await
}
