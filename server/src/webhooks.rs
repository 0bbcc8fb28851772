//! Gateway webhooks: `POST /v1/webhooks/{store}/{gateway}`. The signature is
//! checked with the store's secret (and, during a rotation, its previous one),
//! then the event id is stored under a unique key and the event applied in the
//! same transaction, so each event takes effect exactly once however often it
//! is delivered. Events arrive in any order; they only ever move payments and
//! orders forward.

use paylet_api::{OrderId, StoreId};
use paylet_gateway::{Change, GatewayEvent, WebhookError, WebhookRequest};
use reqwest::header::HeaderMap;
use serde::Serialize;

use crate::app::AppState;
use crate::db::orders as order_rows;
use crate::db::payment_attempts::{self as attempt_rows, NamedBy};
use crate::db::{Conn, Db, gateway_events, now_millis};
use crate::payments;
use crate::{Error, refunds, stores};

/// What the gateway is told.
#[derive(Debug, Serialize)]
pub struct Receipt {
    pub received: bool,
    /// Seen before: acknowledged, not applied again.
    pub duplicate: bool,
}

mod outcome {
    pub const APPLIED: &str = "applied";
    pub const IGNORED: &str = "ignored";
    pub const UNKNOWN_ORDER: &str = "unknown_order";
}

pub async fn receive(
    state: &AppState,
    store: &StoreId,
    style: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Receipt, Error> {
    let store = stores::find(&state.db, store).await?;
    if store.gateway.style.as_str() != style {
        return Err(Error::NotFound("webhook endpoint"));
    }
    let now = now_millis();
    let url = store.webhook_url(&state.settings.public_url);
    let secrets = store.webhook.secrets(now);
    let request = WebhookRequest {
        headers,
        body,
        url: &url,
        secrets: &secrets,
        tolerance_secs: i64::try_from(state.settings.webhook_tolerance.as_secs()).unwrap_or(i64::MAX),
        now: now / 1000,
    };
    let event = paylet_gateway::verify_webhook(store.gateway.style, &request).map_err(|e| {
        // The body is never logged: an attacker chooses it.
        tracing::warn!(store = %store.id, error = %e, "webhook refused");
        match e {
            WebhookError::Signature(_) => Error::BadRequest {
                code: "invalid_signature",
                message: "The webhook signature does not verify.".into(),
            },
            WebhookError::Malformed(_) => malformed_event(),
        }
    })?;
    // Gateways' ids and type names are short; a long one could not be a key
    // (Postgres indexes at most about 2.7 KB).
    if event.id.len() > MAX_NAME || event.kind.len() > MAX_NAME {
        return Err(malformed_event());
    }
    let store_id = store.id.clone();
    let payload = String::from_utf8_lossy(body).into_owned();
    let ask = match &event.change {
        Change::RefundsChanged { payment_id } => Some(payment_id.clone()),
        _ => None,
    };
    let receipt =
        state.db.write(move |conn| Box::pin(async move { record(conn, &store_id, &event, payload).await })).await?;
    // The event named no refunds: ask the gateway now. It is stored already,
    // so a failure here is left to reconciliation, not to a redelivery.
    if let (false, Some(payment_id)) = (receipt.duplicate, ask)
        && let Err(e) = refunds::refresh(state, &store, &payment_id).await
    {
        tracing::warn!(store = %store.id, payment = %payment_id, error = %e, "could not ask the gateway for refunds");
    }
    state.metrics.webhooks.with_label_values(&[if receipt.duplicate { "duplicate" } else { "new" }]).inc();
    Ok(receipt)
}

const MAX_NAME: usize = 255;

/// An event the gateway sent about an order this store does not have (a
/// payment made elsewhere with the store's account, or a forged reference),
/// kept for a person to look at.
#[derive(Debug, Serialize)]
pub struct UnmatchedEvent {
    pub event_id: String,
    pub event_type: String,
    pub received_at: i64,
    /// The event as the gateway sent it (its body was verified).
    pub payload: serde_json::Value,
}

/// The store's most recent unmatched events, newest first.
pub async fn unmatched(db: &Db, store: &StoreId, limit: i64) -> Result<Vec<UnmatchedEvent>, Error> {
    let events = gateway_events::unmatched(db, store, limit).await?;
    Ok(events
        .into_iter()
        .map(|e| UnmatchedEvent {
            event_id: e.event_id,
            event_type: e.event_type,
            received_at: e.received_at,
            // A verified event is JSON; anything else is shown as text.
            payload: e
                .payload
                .map(|text| serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)))
                .unwrap_or_default(),
        })
        .collect())
}

fn malformed_event() -> Error {
    Error::BadRequest {
        code: "malformed_event",
        message: "The webhook body is not an event this endpoint can read.".into(),
    }
}

/// Stores the event once and applies it; a duplicate changes nothing.
async fn record(conn: &mut Conn, store: &StoreId, event: &GatewayEvent, payload: String) -> Result<Receipt, Error> {
    if !gateway_events::insert(conn, store, &event.id, &event.kind, now_millis()).await? {
        return Ok(Receipt { received: true, duplicate: true });
    }
    let (outcome, order) = apply(conn, store, &event.change).await?;
    // Kept only when no order claims the event, for a person to look at.
    let payload = (outcome == outcome::UNKNOWN_ORDER).then_some(payload);
    gateway_events::applied(conn, store, &event.id, (outcome, order.as_ref(), payload)).await?;
    tracing::info!(store = %store, event = %event.id, kind = %event.kind, outcome, "gateway event recorded");
    Ok(Receipt { received: true, duplicate: false })
}

async fn apply(conn: &mut Conn, store: &StoreId, change: &Change) -> Result<(&'static str, Option<OrderId>), Error> {
    let (attempt, news) = match change {
        Change::Payment { payment_id, reference, hosted_session, news } => {
            let attempt = match attempt_rows::named(conn, store, NamedBy::PaymentId, payment_id).await? {
                Some(a) => Some(a),
                None => match (hosted_session, reference) {
                    (Some(session), _) => attempt_rows::named(conn, store, NamedBy::HostedSession, session).await?,
                    // A card charge whose answer never came back: still
                    // `processing` with no gateway id, and this event names it.
                    (None, Some(order)) => attempt_rows::lost_answer(conn, store, order).await?,
                    (None, None) => None,
                },
            };
            (attempt, news.clone())
        }
        Change::Hosted { session_id, news, .. } => {
            (attempt_rows::named(conn, store, NamedBy::HostedSession, session_id).await?, news.clone())
        }
        Change::Refunds { payment_id, refunds: updates } => {
            return Ok(match refunds::apply(conn, store, payment_id, updates).await? {
                Some(order) => (outcome::APPLIED, Some(order)),
                None => (outcome::UNKNOWN_ORDER, None),
            });
        }
        // Applied once the gateway has said which (`receive`).
        Change::RefundsChanged { payment_id } => {
            return Ok(match refunds::apply(conn, store, payment_id, &[]).await? {
                Some(order) => (outcome::APPLIED, Some(order)),
                None => (outcome::UNKNOWN_ORDER, None),
            });
        }
        Change::Other => return Ok((outcome::IGNORED, None)),
    };
    let reference = match change {
        Change::Payment { reference, .. } | Change::Hosted { reference, .. } => reference.as_deref(),
        _ => None,
    };
    match attempt {
        Some(attempt) => {
            payments::settle(conn, &attempt.0, news).await?;
            Ok((outcome::APPLIED, Some(attempt.1)))
        }
        // About one of this store's orders, but no attempt of ours: a hosted
        // page's payment before its page's own event, say, which then settles it.
        None => match own_order(conn, store, reference).await? {
            Some(order) => Ok((outcome::IGNORED, Some(order))),
            None => Ok((outcome::UNKNOWN_ORDER, None)),
        },
    }
}

async fn own_order(conn: &mut Conn, store: &StoreId, reference: Option<&str>) -> Result<Option<OrderId>, Error> {
    let Some(id) = reference.and_then(|r| OrderId::parse(r).ok()) else { return Ok(None) };
    Ok(order_rows::is_of_store(conn, store, &id).await?.then_some(id))
}
