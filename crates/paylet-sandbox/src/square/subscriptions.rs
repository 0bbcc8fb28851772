//! Webhook subscriptions (Square's Webhook Subscriptions API): where an
//! account's events go, signed with the subscription's signature key.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use paylet_secret::Secret;
use serde::Deserialize;
use serde_json::{Value, json};

use super::objects::Subscription;
use super::{SquareError, SquareRequest, authenticate};
use crate::ids::{now_ms, random_suffix};
use crate::owned::OwnedLookup;
use crate::state::Shared;

const EVENT_TYPES: [&str; 4] = ["payment.created", "payment.updated", "refund.created", "refund.updated"];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateSubscription {
    #[serde(default)]
    #[allow(dead_code)] // replayed by the idempotency layer, not read here
    idempotency_key: Option<String>,
    subscription: SubscriptionIn,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SubscriptionIn {
    #[serde(default)]
    name: Option<String>,
    event_types: Vec<String>,
    notification_url: String,
    #[serde(default)]
    api_version: Option<String>,
    #[serde(default)]
    enabled: Option<bool>,
}

pub(crate) async fn create(
    State(shared): State<Arc<Shared>>,
    req: SquareRequest<CreateSubscription>,
) -> Result<Json<Value>, SquareError> {
    let account = shared.read(|w| authenticate(&req.headers, w))?;
    let s = req.body.subscription;
    if !(s.notification_url.starts_with("https://") || s.notification_url.starts_with("http://")) {
        return Err(SquareError::invalid("INVALID_VALUE", "The notification URL must be an http(s) URL.")
            .field("subscription.notification_url"));
    }
    if s.event_types.is_empty() {
        return Err(
            SquareError::invalid("MISSING_REQUIRED_PARAMETER", "Field must be set").field("subscription.event_types")
        );
    }
    if let Some((i, bad)) = s.event_types.iter().enumerate().find(|(_, t)| !EVENT_TYPES.contains(&t.as_str())) {
        return Err(SquareError::invalid("INVALID_VALUE", format!("The sandbox does not send `{bad}` events."))
            .field(format!("subscription.event_types[{i}]")));
    }
    let now = now_ms();
    let sub = Subscription {
        id: format!("wbhk_{}", random_suffix(32).to_lowercase()),
        account_id: account.id,
        name: s.name.unwrap_or_default(),
        event_types: s.event_types,
        notification_url: s.notification_url,
        api_version: s.api_version.unwrap_or_else(|| "2024-06-04".into()),
        signature_key: Secret::new(random_suffix(22)),
        enabled: s.enabled.unwrap_or(true),
        created_ms: now,
        updated_ms: now,
    };
    let json = sub.to_json(true);
    shared.write(|w| w.square.subscriptions.insert(sub.id.clone(), sub));
    Ok(Json(json!({ "subscription": json })))
}

pub(crate) async fn list(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Result<Json<Value>, SquareError> {
    shared.read(|w| {
        let account = authenticate(&headers, w)?;
        let subs: Vec<Value> =
            w.square.subscriptions.values().filter(|s| s.account_id == account.id).map(|s| s.to_json(false)).collect();
        Ok(Json(json!({ "subscriptions": subs })))
    })
}

pub(crate) async fn retrieve(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, SquareError> {
    shared.read(|w| {
        let account = authenticate(&headers, w)?;
        w.square
            .subscriptions
            .owned_by(&id, &account.id)
            .map(|s| Json(json!({ "subscription": s.to_json(false) })))
            .ok_or_else(|| SquareError::not_found("subscription", &id))
    })
}

pub(crate) async fn delete(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, SquareError> {
    let account = shared.read(|w| authenticate(&headers, w))?;
    shared.write(|w| {
        if w.square.subscriptions.owned_by(&id, &account.id).is_none() {
            return Err(SquareError::not_found("subscription", &id));
        }
        w.square.subscriptions.remove(&id);
        Ok(Json(json!({})))
    })
}

/// `POST /v2/webhooks/subscriptions/{id}/signature-key`: a new key, which signs
/// from now on.
pub(crate) async fn rotate_key(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, SquareError> {
    let account = shared.read(|w| authenticate(&headers, w))?;
    shared.write(|w| {
        let s = w
            .square
            .subscriptions
            .owned_by_mut(&id, &account.id)
            .ok_or_else(|| SquareError::not_found("subscription", &id))?;
        s.signature_key = Secret::new(random_suffix(22));
        s.updated_ms = now_ms();
        Ok(Json(json!({ "signature_key": s.signature_key.expose() })))
    })
}
