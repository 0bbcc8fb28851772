//! Telling the merchant about its orders. A change worth knowing is written
//! to an outbox in the same transaction as the change itself, and a worker
//! delivers it to the store's endpoint as a Standard Webhooks message
//! (`webhook-id`, `webhook-timestamp`, `webhook-signature`), retrying with
//! backoff until the endpoint takes it or the schedule runs out. The outbox
//! is in the database, so a restart loses nothing, and on Postgres several
//! instances share the work without sending a message twice at once. One
//! endpoint's sends cannot delay another's: rounds do not wait for answers,
//! and each endpoint has a few sends in flight at most.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use paylet_api::{Money, OrderId, OrderStatus, StoreId};
use paylet_secret::Secret;
use paylet_webhook::standard::{self, SigningSecret};
use serde_json::json;
use tokio::task::JoinSet;

use crate::db::notifications as outbox;
use crate::db::{Batch, Conn, Db, millis, now_millis, rfc3339};
use crate::{Error, ids, outbound, stores};

/// How long a claimed message is left to its worker before another may take
/// it (the worker died mid-delivery).
const LEASE_MS: i64 = 60_000;
/// Messages claimed in one round.
const BATCH: i64 = 32;
/// Sends in flight to one endpoint (scheme, host and port) from this
/// process: an endpoint that never answers holds this many, no more.
const PER_ENDPOINT: usize = 4;

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
    conn: &mut Conn,
    order: &OrderId,
    store: &StoreId,
    total: Money,
    status: OrderStatus,
    now: i64,
) -> Result<(), Error> {
    let Some(kind) = event_type(status) else { return Ok(()) };
    let payload = json!({
        "type": kind,
        "timestamp": rfc3339(now),
        "data": { "order_id": order, "store_id": store, "status": status, "total": total },
    });
    let new = outbox::New {
        id: format!("msg_{}", ids::time_ordered(24)),
        store: store.as_str(),
        order: order.as_str(),
        event_type: kind,
        payload: payload.to_string(),
        now,
    };
    outbox::insert(conn, new).await
}

/// Delivers due messages until the database closes. The sends run beside
/// the rounds, owned by this loop: stopping the workers stops them too, and
/// their leases hand the messages to whoever runs next.
pub async fn run(db: Db, deliveries: Arc<Deliveries>) {
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut sends = JoinSet::new();
    loop {
        tick.tick().await;
        while sends.try_join_next().is_some() {}
        if db.reader().is_closed() {
            return;
        }
        if let Err(e) = deliver_due(&db, &deliveries, &mut sends).await {
            tracing::warn!(error = %e, "notification delivery round failed");
        }
    }
}

struct Message {
    id: String,
    store: String,
    payload: String,
    attempts: i64,
    url: String,
    secret: Secret,
}

/// One round: claims what is due and starts sending it, without waiting for
/// the answers, so an endpoint that is slow to answer delays no other.
/// Returns how many sends it started.
async fn deliver_due(db: &Db, deliveries: &Arc<Deliveries>, sends: &mut JoinSet<()>) -> Result<usize, Error> {
    let now = now_millis();
    // Most rounds find nothing: ask a reader before taking the writer.
    if !outbox::any_due(db, now).await? {
        return Ok(0);
    }
    let busy = deliveries.busy_stores();
    let leasing = db.clone();
    let messages = db.write(move |conn| Box::pin(lease_due(conn, leasing, now, busy))).await?;
    let mut started = 0;
    let (mut later, mut held) = (Batch::default(), 0);
    for message in messages {
        let Some(slot) = deliveries.start(&message) else {
            // Its endpoint is full, or it is being sent: due again next round, no attempt counted.
            outbox::hand_back(&mut later, &message.id, now, now + LEASE_MS);
            held += 1;
            continue;
        };
        let (db, deliveries) = (db.clone(), deliveries.clone());
        sends.spawn(async move {
            let outcome = send(&deliveries.client, &message, now_millis()).await;
            if let Err(e) = record(&db, &deliveries.retries, &message, outcome).await {
                tracing::warn!(error = %e, message = %message.id, "could not record a delivery attempt");
            }
            drop(slot);
        });
        started += 1;
    }
    if held > 0 {
        // Should this fail, the leases hand the messages back, only later.
        db.write_batch(later).await?;
    }
    Ok(started)
}

/// The sends this process has in flight, the client they go out with and
/// the waits between a message's attempts: the one place that knows which
/// endpoints are busy.
pub struct Deliveries {
    client: outbound::Client,
    retries: Vec<Duration>,
    in_flight: Mutex<HashMap<String, Flight>>,
}

/// Where a message in flight goes.
struct Flight {
    endpoint: String,
    store: String,
}

impl Deliveries {
    pub fn new(client: outbound::Client, retries: Vec<Duration>) -> Arc<Deliveries> {
        Arc::new(Deliveries { client, retries, in_flight: Mutex::new(HashMap::new()) })
    }

    fn in_flight(&self) -> std::sync::MutexGuard<'_, HashMap<String, Flight>> {
        // The map stays consistent through a panic elsewhere: each change is one call.
        self.in_flight.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stores whose endpoint has all its sends in flight: a round claims
    /// none of their messages, so a backlog at one endpoint does not fill
    /// the batch that others' messages need.
    fn busy_stores(&self) -> Vec<String> {
        let in_flight = self.in_flight();
        let mut per_endpoint: HashMap<&str, usize> = HashMap::new();
        for flight in in_flight.values() {
            *per_endpoint.entry(flight.endpoint.as_str()).or_default() += 1;
        }
        let mut stores: Vec<String> = in_flight
            .values()
            .filter(|f| per_endpoint.get(f.endpoint.as_str()).is_some_and(|n| *n >= PER_ENDPOINT))
            .map(|f| f.store.clone())
            .collect();
        stores.sort();
        stores.dedup();
        stores
    }

    /// A place for `message` among the sends in flight, unless it is being
    /// sent already or its endpoint has [`PER_ENDPOINT`] sends in flight.
    fn start(self: &Arc<Self>, message: &Message) -> Option<Slot> {
        let endpoint = endpoint(&message.url);
        let mut in_flight = self.in_flight();
        let busy = in_flight.values().filter(|f| f.endpoint == endpoint).count() >= PER_ENDPOINT;
        if busy || in_flight.contains_key(&message.id) {
            return None;
        }
        in_flight.insert(message.id.clone(), Flight { endpoint, store: message.store.clone() });
        Some(Slot { deliveries: self.clone(), message: message.id.clone() })
    }
}

/// A send in flight; dropped when it ends, however it ends.
struct Slot {
    deliveries: Arc<Deliveries>,
    message: String,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.deliveries.in_flight().remove(&self.message);
    }
}

/// Scheme, host and port: the server at the other end, whatever the path.
fn endpoint(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => format!("{}://{}:{}", u.scheme(), u.host_str().unwrap_or(""), u.port_or_known_default().unwrap_or(0)),
        Err(_) => url.to_owned(),
    }
}

/// Leases up to [`BATCH`] due messages to this worker for [`LEASE_MS`]:
/// none of the `busy` stores', and at most [`PER_ENDPOINT`] of any one store,
/// so one store's backlog cannot fill the batch ahead of every other store.
async fn lease_due(conn: &mut Conn, db: Db, now: i64, busy: Vec<String>) -> Result<Vec<Message>, Error> {
    let per_store = i64::try_from(PER_ENDPOINT).unwrap_or(i64::MAX);
    let lease = outbox::Lease { now, until: now + LEASE_MS, most: BATCH, per_store, skip: &busy };
    let leased = outbox::lease(conn, lease).await?;
    let mut messages = Vec::with_capacity(leased.len());
    for outbox::Leased { id, store_id: store, payload, attempts } in leased {
        let (Some(url), Some(secret)) = crate::db::stores::notify_endpoint(conn, &store).await? else {
            // The merchant turned notifications off since this was queued.
            outbox::give_up(conn, &id, "notifications turned off").await?;
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
        messages.push(Message { id, store, payload, attempts, url, secret });
    }
    Ok(messages)
}

/// One attempt: `Ok` when the endpoint answered 2xx, else why not. A
/// redirect is an answer like any other non-2xx: not followed.
async fn send(client: &outbound::Client, message: &Message, now_ms: i64) -> Result<(), String> {
    let secret = SigningSecret::parse(message.secret.expose()).map_err(|e| e.to_string())?;
    let timestamp = now_ms / 1000;
    let signature =
        standard::sign(&[&secret], &message.id, timestamp, message.payload.as_bytes()).map_err(|e| e.to_string())?;
    let response = client
        .post(&message.url)?
        .header("content-type", "application/json")
        .header("webhook-id", &message.id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(message.payload.clone())
        .send()
        .await
        .map_err(|e| outbound::describe(&e))?;
    let status = response.status();
    match status.as_u16() {
        _ if status.is_success() => Ok(()),
        code if status.is_redirection() => Err(format!("HTTP {code} (redirects are not followed)")),
        code => Err(format!("HTTP {code}")),
    }
}

async fn record(db: &Db, retries: &[Duration], message: &Message, outcome: Result<(), String>) -> Result<(), Error> {
    let now = now_millis();
    let attempts = message.attempts + 1;
    let (next, delivered, error) = match outcome {
        Ok(()) => (None, Some(now), None),
        Err(e) => {
            let wait = usize::try_from(message.attempts).ok().and_then(|n| retries.get(n));
            let next = wait.map(|w| now.saturating_add(millis(*w)));
            if next.is_none() {
                tracing::warn!(message = %message.id, error = %e, "notification given up after its last retry");
            }
            (next, None, Some(e))
        }
    };
    let attempted = outbox::Attempted { attempts, next, delivered, error };
    outbox::record(db, &message.id, attempted).await
}
