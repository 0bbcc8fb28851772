//! Webhook endpoints: where an account's events are delivered. The signing
//! secret is shown once, in the response that creates the endpoint.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};

use super::objects::{WebhookEndpoint, new_webhook_secret};
use super::{Params, StripeError, StripeRequest};
use crate::ids::{new_id, now_unix};
use crate::owned::OwnedLookup;
use crate::state::Shared;

fn url(p: &Params, required: bool) -> Result<Option<String>, StripeError> {
    let url = if required { Some(p.require("url")?) } else { p.get("url") };
    match url {
        Some(u) if !(u.starts_with("https://") || u.starts_with("http://")) => {
            Err(StripeError::invalid_request("url_invalid", "Invalid URL: must start with http:// or https://.")
                .param("url"))
        }
        other => Ok(other.map(str::to_owned)),
    }
}

fn events(p: &Params, required: bool) -> Result<Option<Vec<String>>, StripeError> {
    let events = p.list("enabled_events");
    if events.is_empty() {
        return if required { Err(StripeError::missing_param("enabled_events")) } else { Ok(None) };
    }
    Ok(Some(events))
}

pub(crate) async fn create(State(shared): State<Arc<Shared>>, req: StripeRequest) -> Result<Json<Value>, StripeError> {
    let account = shared.read(|w| req.secret_account(w))?;
    let p = &req.params;
    p.reject_unknown(&["url", "enabled_events[", "description", "metadata[", "api_version"])?;
    let endpoint = WebhookEndpoint {
        id: new_id("we"),
        account_id: account.id,
        url: url(p, true)?.unwrap_or_default(),
        enabled_events: events(p, true)?.unwrap_or_default(),
        secret: new_webhook_secret(),
        previous: None,
        disabled: false,
        description: p.get("description").map(str::to_owned),
        metadata: p.map("metadata"),
        created: now_unix(),
        api_version: p.get("api_version").map(str::to_owned),
    };
    let mut json = endpoint.to_json();
    json["secret"] = endpoint.secret.expose().as_str().into();
    shared.write(|w| w.stripe.webhook_endpoints.insert(endpoint.id.clone(), endpoint));
    Ok(Json(json))
}

pub(crate) async fn list(State(shared): State<Arc<Shared>>, req: StripeRequest) -> Result<Json<Value>, StripeError> {
    req.params.reject_unknown(&["limit"])?;
    shared.read(|w| {
        let account = req.secret_account(w)?;
        let data: Vec<Value> = w
            .stripe
            .webhook_endpoints
            .values()
            .filter(|e| e.account_id == account.id)
            .map(WebhookEndpoint::to_json)
            .collect();
        Ok(Json(json!({ "object": "list", "url": "/v1/webhook_endpoints", "has_more": false, "data": data })))
    })
}

pub(crate) async fn retrieve(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    req: StripeRequest,
) -> Result<Json<Value>, StripeError> {
    shared.read(|w| {
        let account = req.secret_account(w)?;
        w.stripe
            .webhook_endpoints
            .owned_by(&id, &account.id)
            .map(|e| Json(e.to_json()))
            .ok_or_else(|| StripeError::no_such("webhook_endpoint", &id, "id"))
    })
}

pub(crate) async fn update(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    req: StripeRequest,
) -> Result<Json<Value>, StripeError> {
    let account = shared.read(|w| req.secret_account(w))?;
    let p = &req.params;
    p.reject_unknown(&["url", "enabled_events[", "description", "metadata[", "disabled"])?;
    let (url, events, disabled) = (url(p, false)?, events(p, false)?, p.boolean("disabled")?);
    shared.write(|w| {
        let e = w
            .stripe
            .webhook_endpoints
            .owned_by_mut(&id, &account.id)
            .ok_or_else(|| StripeError::no_such("webhook_endpoint", &id, "id"))?;
        if let Some(url) = url {
            e.url = url;
        }
        if let Some(events) = events {
            e.enabled_events = events;
        }
        if let Some(disabled) = disabled {
            e.disabled = disabled;
        }
        if let Some(d) = p.get("description") {
            e.description = Some(d.to_owned());
        }
        e.metadata.extend(p.map("metadata"));
        Ok(Json(e.to_json()))
    })
}

pub(crate) async fn delete(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    req: StripeRequest,
) -> Result<Json<Value>, StripeError> {
    let account = shared.read(|w| req.secret_account(w))?;
    shared.write(|w| {
        if w.stripe.webhook_endpoints.owned_by(&id, &account.id).is_none() {
            return Err(StripeError::no_such("webhook_endpoint", &id, "id"));
        }
        w.stripe.webhook_endpoints.remove(&id);
        Ok(Json(json!({ "id": id, "object": "webhook_endpoint", "deleted": true })))
    })
}
