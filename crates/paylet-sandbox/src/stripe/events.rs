//! Events: recorded for `GET /v1/events` and queued to every endpoint that
//! wants them.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};

use super::objects::Event;
use super::{StripeError, StripeRequest};
use crate::ids::{new_id, now_ms};
use crate::owned::OwnedLookup;
use crate::state::{Shared, World};
use crate::webhooks::Target;

/// Records an event of `kind` about `object` and queues its deliveries.
pub(crate) fn emit(world: &mut World, account_id: &str, kind: &str, object: Value, idempotency_key: Option<&str>) {
    let now = now_ms();
    let endpoints: Vec<(String, String)> = world
        .stripe
        .webhook_endpoints
        .values()
        .filter(|e| e.account_id == account_id && e.enabled() && e.wants(kind))
        .map(|e| (e.id.clone(), e.api_version.clone().unwrap_or_else(|| super::API_VERSION.to_owned())))
        .collect();
    let event = Event {
        id: new_id("evt"),
        account_id: account_id.to_owned(),
        kind: kind.to_owned(),
        created: now / 1000,
        object,
        pending_webhooks: endpoints.len(),
        idempotency_key: idempotency_key.map(str::to_owned),
    };
    let faults = world.accounts.get(account_id).map(|a| a.faults.clone()).unwrap_or_default();
    for (endpoint_id, version) in endpoints {
        let payload = event.in_version(&version, &in_version(world, &version, kind, &event.object)).to_string();
        world.webhooks.enqueue(&faults, account_id, Target::Stripe { endpoint_id }, &event.id, kind, payload, now);
    }
    world.stripe.events.insert(event.id.clone(), event);
}

/// The first API version in which a charge no longer lists its refunds
/// (they are followed with `refund.*` events instead).
pub(crate) const REFUNDS_NOT_EXPANDED: &str = "2022-11-15";

/// `object`, rendered in the current version, as an endpoint on `version`
/// gets it. Versions are dates (`2026-11-18.endive`), so they compare as text.
fn in_version(world: &World, version: &str, kind: &str, object: &Value) -> Value {
    if kind == "charge.refunded"
        && version < REFUNDS_NOT_EXPANDED
        && let Some(id) = object["id"].as_str()
    {
        return super::refunds::charge_json(world, id, true);
    }
    object.clone()
}

pub(crate) async fn retrieve(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    req: StripeRequest,
) -> Result<Json<Value>, StripeError> {
    shared.read(|w| {
        let account = req.secret_account(w)?;
        w.stripe
            .events
            .owned_by(&id, &account.id)
            .map(|e| Json(e.to_json()))
            .ok_or_else(|| StripeError::no_such("event", &id, "id"))
    })
}

/// `GET /v1/events?type=…&limit=…`: newest first.
pub(crate) async fn list(State(shared): State<Arc<Shared>>, req: StripeRequest) -> Result<Json<Value>, StripeError> {
    req.params.reject_unknown(&["type", "limit"])?;
    let limit = req.params.integer("limit")?.unwrap_or(10);
    if !(1..=100).contains(&limit) {
        return Err(StripeError::invalid_request("parameter_invalid_integer", "Limit must be between 1 and 100.")
            .param("limit"));
    }
    let kind = req.params.get("type").map(str::to_owned);
    shared.read(|w| {
        let account = req.secret_account(w)?;
        let matching: Vec<&Event> = w
            .stripe
            .events
            .values()
            .rev()
            .filter(|e| e.account_id == account.id && kind.as_ref().is_none_or(|k| &e.kind == k))
            .collect();
        let data: Vec<Value> =
            matching.iter().take(usize::try_from(limit).unwrap_or(10)).map(|e| e.to_json()).collect();
        let has_more = matching.len() > data.len();
        Ok(Json(json!({ "object": "list", "url": "/v1/events", "has_more": has_more, "data": data })))
    })
}
