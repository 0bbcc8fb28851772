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
use sqlx::{AnyConnection, Row};

use crate::app::AppState;
use crate::attempt_state::{AttemptKind, AttemptStatus};
use crate::db::{Backend, Db, now_millis};
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
    let (backend, store_id) = (state.db.backend(), store.id.clone());
    let payload = String::from_utf8_lossy(body).into_owned();
    let ask = match &event.change {
        Change::RefundsChanged { payment_id } => Some(payment_id.clone()),
        _ => None,
    };
    let receipt = state
        .db
        .write(move |conn| Box::pin(async move { record(conn, backend, &store_id, &event, payload).await }))
        .await?;
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
    // `outcome::UNKNOWN_ORDER` as a literal: with a bound value, Postgres's
    // generic plans cannot use the partial index `gateway_events_unmatched`
    // and read all of the store's events.
    let rows = sqlx::query(
        "SELECT event_id, event_type, received_at, payload FROM gateway_events \
         WHERE store_id = $1 AND outcome = 'unknown_order' ORDER BY received_at DESC, event_id LIMIT $2",
    )
    .bind(store.as_str())
    .bind(limit)
    .fetch_all(db.reader())
    .await?;
    rows.iter()
        .map(|row| {
            let payload: Option<String> = row.try_get("payload")?;
            Ok(UnmatchedEvent {
                event_id: row.try_get("event_id")?,
                event_type: row.try_get("event_type")?,
                received_at: row.try_get("received_at")?,
                // A verified event is JSON; anything else is shown as text.
                payload: payload
                    .map(|text| serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)))
                    .unwrap_or_default(),
            })
        })
        .collect()
}

fn malformed_event() -> Error {
    Error::BadRequest {
        code: "malformed_event",
        message: "The webhook body is not an event this endpoint can read.".into(),
    }
}

/// Stores the event once and applies it; a duplicate changes nothing.
async fn record(
    conn: &mut AnyConnection,
    backend: Backend,
    store: &StoreId,
    event: &GatewayEvent,
    payload: String,
) -> Result<Receipt, Error> {
    let fresh = sqlx::query(
        "INSERT INTO gateway_events (store_id, event_id, event_type, outcome, received_at) \
         VALUES ($1, $2, $3, 'received', $4) ON CONFLICT (store_id, event_id) DO NOTHING",
    )
    .bind(store.as_str())
    .bind(&event.id)
    .bind(&event.kind)
    .bind(now_millis())
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    if !fresh {
        return Ok(Receipt { received: true, duplicate: true });
    }
    let (outcome, order) = apply(conn, backend, store, &event.change).await?;
    sqlx::query(
        "UPDATE gateway_events SET outcome = $1, order_id = $2, payload = $3 WHERE store_id = $4 AND event_id = $5",
    )
    .bind(outcome)
    .bind(order.as_ref().map(OrderId::as_str))
    // Kept only when no order claims the event, for a person to look at.
    .bind((outcome == outcome::UNKNOWN_ORDER).then_some(payload))
    .bind(store.as_str())
    .bind(&event.id)
    .execute(&mut *conn)
    .await?;
    tracing::info!(store = %store, event = %event.id, kind = %event.kind, outcome, "gateway event recorded");
    Ok(Receipt { received: true, duplicate: false })
}

async fn apply(
    conn: &mut AnyConnection,
    backend: Backend,
    store: &StoreId,
    change: &Change,
) -> Result<(&'static str, Option<OrderId>), Error> {
    let (attempt, news) = match change {
        Change::Payment { payment_id, reference, hosted_session, news } => {
            let attempt = match find(conn, store, "gateway_payment_id", payment_id).await? {
                Some(a) => Some(a),
                None => match hosted_session {
                    Some(session) => find(conn, store, "hosted_session_id", session).await?,
                    None => lost_answer(conn, store, reference.as_deref()).await?,
                },
            };
            (attempt, news.clone())
        }
        Change::Hosted { session_id, news, .. } => {
            (find(conn, store, "hosted_session_id", session_id).await?, news.clone())
        }
        Change::Refunds { payment_id, refunds: updates } => {
            return Ok(match refunds::apply(conn, backend, store, payment_id, updates).await? {
                Some(order) => (outcome::APPLIED, Some(order)),
                None => (outcome::UNKNOWN_ORDER, None),
            });
        }
        // Applied once the gateway has said which (`receive`).
        Change::RefundsChanged { payment_id } => {
            return Ok(match refunds::apply(conn, backend, store, payment_id, &[]).await? {
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
            payments::settle(conn, backend, &attempt.0, news).await?;
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

/// The store's attempt whose `column` is `value`: (attempt id, order id).
async fn find(
    conn: &mut AnyConnection,
    store: &StoreId,
    column: &'static str,
    value: &str,
) -> Result<Option<(String, OrderId)>, Error> {
    let row = sqlx::query(&format!("SELECT id, order_id FROM payment_attempts WHERE store_id = $1 AND {column} = $2"))
        .bind(store.as_str())
        .bind(value)
        .fetch_optional(conn)
        .await?;
    row.map(|r| attempt_ids(&r)).transpose()
}

/// A card charge of the referenced order whose answer never came back: it
/// is still `processing` with no gateway id, and this event names the payment.
async fn lost_answer(
    conn: &mut AnyConnection,
    store: &StoreId,
    reference: Option<&str>,
) -> Result<Option<(String, OrderId)>, Error> {
    let Some(reference) = reference else { return Ok(None) };
    let row = sqlx::query(
        "SELECT id, order_id FROM payment_attempts WHERE store_id = $1 AND order_id = $2 AND kind = $3 \
         AND status = $4 AND gateway_payment_id IS NULL ORDER BY created_at DESC LIMIT 1",
    )
    .bind(store.as_str())
    .bind(reference)
    .bind(AttemptKind::Card.as_str())
    .bind(AttemptStatus::Processing.as_str())
    .fetch_optional(conn)
    .await?;
    row.map(|r| attempt_ids(&r)).transpose()
}

fn attempt_ids(row: &sqlx::any::AnyRow) -> Result<(String, OrderId), Error> {
    let order: String = row.try_get("order_id")?;
    Ok((
        row.try_get("id")?,
        OrderId::parse(&order).map_err(|_| Error::Corrupt("stored attempt has a bad order".into()))?,
    ))
}

async fn own_order(
    conn: &mut AnyConnection,
    store: &StoreId,
    reference: Option<&str>,
) -> Result<Option<OrderId>, Error> {
    let Some(id) = reference.and_then(|r| OrderId::parse(r).ok()) else { return Ok(None) };
    let found = sqlx::query("SELECT 1 AS found FROM orders WHERE id = $1 AND store_id = $2")
        .bind(id.as_str())
        .bind(store.as_str())
        .fetch_optional(conn)
        .await?;
    Ok(found.map(|_| id))
}
