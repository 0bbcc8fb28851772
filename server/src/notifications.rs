//! Telling the merchant about its orders. A change worth knowing is written
//! to an outbox in the same transaction as the change itself, and a worker
//! delivers it to the store's endpoint as a Standard Webhooks message
//! (`webhook-id`, `webhook-timestamp`, `webhook-signature`), retrying with
//! backoff until the endpoint takes it or the schedule runs out. The outbox
//! is in the database, so a restart loses nothing, and on Postgres several
//! instances share the work without sending a message twice at once.

use std::time::Duration;

use paylet_api::{OrderStatus, StoreId};
use paylet_secret::Secret;
use paylet_webhook::standard::{self, SigningSecret};
use serde_json::json;
use sqlx::{AnyConnection, Row};

use crate::app::AppState;
use crate::db::{Arg, Db, millis, now_millis};
use crate::orders::{OrderSummary, rfc3339};
use crate::{Error, ids, stores};

/// How long a claimed message is left to its worker before another may take
/// it (the worker died mid-delivery).
const LEASE_MS: i64 = 60_000;
/// Messages sent at once.
const BATCH: i64 = 32;

/// Waits after each failed attempt (Standard Webhooks' suggested schedule);
/// after the last, the message is given up.
pub fn default_retry_schedule() -> Vec<Duration> {
    [5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600].into_iter().map(Duration::from_secs).collect()
}

/// The event type for an order that moved to `status`, if merchants hear of it.
fn event_type(status: OrderStatus) -> Option<&'static str> {
    match status {
        OrderStatus::Paid => Some("order.paid"),
        OrderStatus::Failed => Some("order.failed"),
        OrderStatus::Refunded | OrderStatus::PartiallyRefunded => Some("order.refunded"),
        _ => None,
    }
}

/// Queues the message for an order that moved to `status`, inside the write
/// job that moved it, if the store has an endpoint.
pub async fn order_changed(
    conn: &mut AnyConnection,
    order: &OrderSummary,
    status: OrderStatus,
    now: i64,
) -> Result<(), Error> {
    let Some(kind) = event_type(status) else { return Ok(()) };
    let payload = json!({
        "type": kind,
        "timestamp": rfc3339(now),
        "data": { "order_id": order.id, "store_id": order.store_id, "status": status, "total": order.total },
    });
    sqlx::query(
        "INSERT INTO notifications (id, store_id, order_id, event_type, payload, attempts, next_attempt_at, created_at) \
         SELECT $1, $2, $3, $4, $5, 0, $6, $6 FROM stores WHERE id = $2 AND notify_url IS NOT NULL",
    )
    .bind(format!("msg_{}", ids::time_ordered(24)))
    .bind(order.store_id.as_str())
    .bind(order.id.as_str())
    .bind(kind)
    .bind(payload.to_string())
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Delivers due messages until the database closes.
pub async fn run(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if state.db.reader().is_closed() {
            return;
        }
        if let Err(e) = deliver_due(&state).await {
            tracing::warn!(error = %e, "notification delivery round failed");
        }
    }
}

struct Message {
    id: String,
    payload: String,
    attempts: i64,
    url: String,
    secret: Secret,
}

/// One round: claims what is due and sends it. Returns how many were sent.
pub async fn deliver_due(state: &AppState) -> Result<usize, Error> {
    let now = now_millis();
    // Most rounds find nothing: ask a reader before taking the writer.
    let due = sqlx::query("SELECT 1 AS due FROM notifications WHERE next_attempt_at <= $1 LIMIT 1")
        .bind(now)
        .fetch_optional(state.db.reader())
        .await?;
    if due.is_none() {
        return Ok(0);
    }
    let db = state.db.clone();
    let messages = state.db.write(move |conn| Box::pin(claim(conn, db, now))).await?;
    let count = messages.len();
    let mut sends = tokio::task::JoinSet::new();
    for message in messages {
        let (state, http) = (state.clone(), state.http.clone());
        sends.spawn(async move {
            let outcome = send(&http, &message, now_millis()).await;
            if let Err(e) = record(&state, &message, outcome).await {
                tracing::warn!(error = %e, message = %message.id, "could not record a delivery attempt");
            }
        });
    }
    while sends.join_next().await.is_some() {}
    Ok(count)
}

/// Takes up to [`BATCH`] due messages for this worker for [`LEASE_MS`].
async fn claim(conn: &mut AnyConnection, db: Db, now: i64) -> Result<Vec<Message>, Error> {
    let sql = format!(
        "UPDATE notifications SET next_attempt_at = $1 WHERE id IN \
         (SELECT id FROM notifications WHERE next_attempt_at <= $2 ORDER BY next_attempt_at LIMIT $3{}) \
         RETURNING id, store_id, payload, attempts",
        db.backend().skip_locked()
    );
    let rows = sqlx::query(&sql).bind(now + LEASE_MS).bind(now).bind(BATCH).fetch_all(&mut *conn).await?;
    let mut messages = Vec::with_capacity(rows.len());
    for row in rows {
        let store: String = row.try_get("store_id")?;
        let endpoint = sqlx::query("SELECT notify_url, notify_secret FROM stores WHERE id = $1")
            .bind(&store)
            .fetch_one(&mut *conn)
            .await?;
        let id: String = row.try_get("id")?;
        let (Some(url), Some(secret)) = (
            endpoint.try_get::<Option<String>, _>("notify_url")?,
            endpoint.try_get::<Option<String>, _>("notify_secret")?,
        ) else {
            // The merchant turned notifications off since this was queued.
            sqlx::query("UPDATE notifications SET next_attempt_at = NULL, last_error = $1 WHERE id = $2")
                .bind("notifications turned off")
                .bind(&id)
                .execute(&mut *conn)
                .await?;
            continue;
        };
        let secret = match StoreId::parse(&store)
            .map_err(|_| Error::NotFound("store"))
            .and_then(|store| stores::open_notify_secret(&db, &store, &secret))
        {
            Ok(secret) => secret,
            Err(e) => {
                // Left claimed: it is tried again when the lease ends, once the keys are fixed.
                tracing::error!(error = %e, message = %id, "cannot open the store's notification secret");
                continue;
            }
        };
        messages.push(Message {
            id,
            payload: row.try_get("payload")?,
            attempts: row.try_get("attempts")?,
            url,
            secret,
        });
    }
    Ok(messages)
}

/// One attempt: `Ok` when the endpoint answered 2xx, else why not.
async fn send(http: &reqwest::Client, message: &Message, now_ms: i64) -> Result<(), String> {
    let secret = SigningSecret::parse(message.secret.expose()).map_err(|e| e.to_string())?;
    let timestamp = now_ms / 1000;
    let signature =
        standard::sign(&[&secret], &message.id, timestamp, message.payload.as_bytes()).map_err(|e| e.to_string())?;
    let response = http
        .post(&message.url)
        .header("content-type", "application/json")
        .header("webhook-id", &message.id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(message.payload.clone())
        .send()
        .await
        .map_err(|e| if e.is_timeout() { "timed out".to_owned() } else { "could not connect".to_owned() })?;
    if response.status().is_success() { Ok(()) } else { Err(format!("HTTP {}", response.status().as_u16())) }
}

async fn record(state: &AppState, message: &Message, outcome: Result<(), String>) -> Result<(), Error> {
    let now = now_millis();
    let attempts = message.attempts + 1;
    let (next, delivered, error) = match outcome {
        Ok(()) => (None, Some(now), None),
        Err(e) => {
            let wait = usize::try_from(message.attempts).ok().and_then(|n| state.settings.notification_retries.get(n));
            let next = wait.map(|w| now.saturating_add(millis(*w)));
            if next.is_none() {
                tracing::warn!(message = %message.id, error = %e, "notification given up after its last retry");
            }
            (next, None, Some(e))
        }
    };
    let sql = "UPDATE notifications SET attempts = $1, next_attempt_at = $2, delivered_at = $3, last_error = $4 \
               WHERE id = $5";
    #[rustfmt::skip]
    let args = vec![Arg::Int(attempts), Arg::OptInt(next), Arg::OptInt(delivered), Arg::OptText(error),
                    Arg::Text(message.id.clone())];
    state.db.execute(sql, args).await
}
