//! The sandbox-only control API under `/_sandbox`: what no real gateway offers
//! but tests need. Unauthenticated: the sandbox is a local test tool.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::accounts::Faults;
use crate::ids::now_ms;
use crate::state::{Shared, World};
use crate::stripe::objects::IntentStatus;
use crate::webhooks::DeliveryAttempt;

/// One request as the sandbox saw it: enough to check who called what from
/// where, never the body (which may hold a card number).
#[derive(Debug, Clone, Serialize)]
pub struct LoggedRequest {
    pub method: String,
    pub path: String,
    pub origin: Option<String>,
    /// The `Stripe-Version` the caller pinned, if it sent one.
    pub stripe_version: Option<String>,
    pub status: u16,
}

/// A payment that took money, as `GET /_sandbox/accounts/{id}/payments` lists
/// it: what an audit compares with the orders a merchant marked paid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SucceededPayment {
    /// `pi_…` (Stripe style) or the Square-style payment id.
    pub id: String,
    /// In the currency's minor unit.
    pub amount: i64,
    /// ISO 4217, upper case in both styles (Stripe style keeps it lower case).
    pub currency: String,
}

/// The payments on `account_id` that took money (either style), oldest first.
/// Bounded like every object: beyond the sandbox's capacity the oldest are gone.
pub(crate) fn succeeded_payments(w: &World, account_id: &str) -> Vec<SucceededPayment> {
    let stripe = (w.stripe.payment_intents.values())
        .filter(|p| p.account_id == account_id && p.status == IntentStatus::Succeeded)
        .map(|p| SucceededPayment { id: p.id.clone(), amount: p.amount, currency: p.currency.to_uppercase() });
    let square = (w.square.payments.values())
        .filter(|p| p.account_id == account_id && matches!(p.status.as_str(), "APPROVED" | "COMPLETED"))
        .map(|p| SucceededPayment { id: p.id.clone(), amount: p.amount, currency: p.currency.to_uppercase() });
    stripe.chain(square).collect()
}

pub(crate) async fn record(State(shared): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    let method = req.method().to_string();
    let path = req.uri().path().to_owned();
    let headers = req.headers();
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (origin, stripe_version) = (text(header::ORIGIN.as_str()), text("stripe-version"));
    let response = next.run(req).await;
    if !path.starts_with("/_sandbox/") {
        let status = response.status().as_u16();
        shared.log_request(LoggedRequest { method, path, origin, stripe_version, status });
    }
    response
}

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/_sandbox/requests", get(requests))
        .route("/_sandbox/accounts", post(create_account))
        .route("/_sandbox/accounts/{id}/faults", get(get_faults).put(put_faults))
        .route("/_sandbox/accounts/{id}/payments", get(payments))
        .route("/_sandbox/deliveries", get(deliveries))
        .route("/_sandbox/webhook_endpoints/{id}/roll", post(roll_secret))
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": { "message": message.into() } }))).into_response()
}

async fn requests(State(shared): State<Arc<Shared>>) -> Json<Vec<LoggedRequest>> {
    Json(shared.request_log())
}

/// A new account with fresh keys. The one place the secret credentials are
/// shown, like a dashboard's "reveal key".
async fn create_account(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let a = shared.write(|w| {
        let a = crate::accounts::Account::random();
        w.accounts.insert(a.id.clone(), a.clone());
        a
    });
    Json(account_json(&a))
}

pub(crate) fn account_json(a: &crate::accounts::Account) -> Value {
    json!({
        "id": a.id,
        "publishable_key": a.publishable_key,
        "secret_key": a.secret_key.expose(),
        "application_id": a.application_id,
        "access_token": a.access_token.expose(),
        "merchant_id": a.merchant_id,
        "location_id": a.location_id,
    })
}

async fn get_faults(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    match shared.read(|w| w.accounts.get(&id).map(|a| a.faults.clone())) {
        Some(faults) => Json(faults).into_response(),
        None => error(StatusCode::NOT_FOUND, format!("No such account: {id}")),
    }
}

/// Replaces the account's faults; fields left out are off.
async fn put_faults(State(shared): State<Arc<Shared>>, Path(id): Path<String>, body: Bytes) -> Response {
    let faults: Faults = match serde_json::from_slice(&body) {
        Ok(f) => f,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("Invalid faults: {e}")),
    };
    let found = shared.write(|w| w.accounts.get_mut(&id).map(|a| a.faults = faults.clone()).is_some());
    if found { Json(faults).into_response() } else { error(StatusCode::NOT_FOUND, format!("No such account: {id}")) }
}

/// Every payment on the account that took money, for an audit after a load
/// test: no real gateway lists them in one answer.
async fn payments(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    match shared.read(|w| w.accounts.contains_key(&id).then(|| succeeded_payments(w, &id))) {
        Some(payments) => Json(json!({ "data": payments })).into_response(),
        None => error(StatusCode::NOT_FOUND, format!("No such account: {id}")),
    }
}

#[derive(Deserialize)]
struct DeliveryQuery {
    account: Option<String>,
    event_id: Option<String>,
}

/// Every webhook delivery attempt (bounded), oldest first.
async fn deliveries(State(shared): State<Arc<Shared>>, Query(q): Query<DeliveryQuery>) -> Json<Value> {
    let (attempts, pending) = shared.read(|w| {
        let attempts: Vec<DeliveryAttempt> = w
            .webhooks
            .attempts()
            .filter(|a| q.account.as_ref().is_none_or(|acct| &a.account_id == acct))
            .filter(|a| q.event_id.as_ref().is_none_or(|e| &a.event_id == e))
            .cloned()
            .collect();
        (attempts, w.webhooks.pending())
    });
    Json(json!({ "attempts": attempts, "pending": pending }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Roll {
    /// How long the old secret keeps signing alongside the new one.
    #[serde(default = "one_day")]
    expires_in: i64,
}

fn one_day() -> i64 {
    86_400
}

/// Rolls a Stripe-style endpoint's signing secret, as the dashboard does: a new
/// secret, with the old one still signing (two `v1=`) until it expires.
async fn roll_secret(State(shared): State<Arc<Shared>>, Path(id): Path<String>, body: Bytes) -> Response {
    let roll: Roll = if body.is_empty() {
        Roll { expires_in: one_day() }
    } else {
        match serde_json::from_slice(&body) {
            Ok(r) => r,
            Err(e) => return error(StatusCode::BAD_REQUEST, format!("Invalid body: {e}")),
        }
    };
    let rolled = shared.write(|w| {
        w.stripe.webhook_endpoints.get_mut(&id).map(|e| e.roll_secret(now_ms() + roll.expires_in.max(0) * 1000))
    });
    match rolled {
        Some(secret) => {
            Json(json!({ "id": id, "secret": secret.expose(), "previous_secret_expires_in": roll.expires_in }))
                .into_response()
        }
        None => error(StatusCode::NOT_FOUND, format!("No such webhook endpoint: {id}")),
    }
}
