//! Reconciliation: a payment or refund still unsettled some time after it
//! started is asked about at the gateway, so a lost webhook or a lost answer
//! loses no payment. Each item carries the time of its next check; a worker
//! leases the due ones (on Postgres with `FOR UPDATE SKIP LOCKED`, so several
//! instances share the work and never check one item twice at once) and pushes
//! the next check further out each time it finds nothing new. What a check
//! asks and applies is `payments::ask_gateway` and `refunds::reconcile`.
//!
//! The leased items' next check is moved to when the lease ends, and the
//! worker renews it while their checks run. So while the worker lives nobody
//! else takes them, however slow the gateway, and if it dies mid-round (a
//! crash, `kill -9`) they come due again within seconds.

use std::collections::HashMap;
use std::time::Duration;

use paylet_api::OrderId;

use crate::app::AppState;
use crate::db::checks::{self, Item};
use crate::db::payment_attempts as attempt_rows;
use crate::db::{Conn, millis, now_millis};
use crate::payments::{self, Attempt};
use crate::stores;
use crate::{Error, orders, refunds};

/// Items leased per round, and checked at once.
const BATCH: i64 = 50;
/// How long a lease holds without renewal: how soon a dead worker's items
/// come due again.
const LEASE: Duration = Duration::from_secs(6);
/// How often a worker renews its leases: a few times per lease, so one late
/// renewal (the database busy) does not lose it.
const RENEW_EVERY: Duration = Duration::from_secs(2);

/// Checks what is due, every so often, until the database closes.
pub async fn run(state: AppState) {
    let every = (state.settings.reconcile_after / 4).clamp(Duration::from_secs(1), Duration::from_secs(60));
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if state.db.reader().is_closed() {
            return;
        }
        match run_once(&state, now_millis()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(checked = n, "reconciled payments with the gateway"),
            Err(e) => tracing::warn!(error = %e, "reconciliation round failed"),
        }
    }
}

/// One round as of `now` (ms): checks every attempt and refund due by then
/// (up to [`BATCH`] of each), all at once, renewing their leases until each
/// is done. Returns how many were checked.
///
/// One item failing (the gateway or the database briefly away) fails only
/// itself: it is checked again at its next check, or when its lease ends.
pub async fn run_once(state: &AppState, now: i64) -> Result<usize, Error> {
    let next = now + millis(state.settings.reconcile_after);
    let mut until = now + millis(LEASE);
    let (attempts, refund_ids) = state.db.write(move |conn| Box::pin(lease_due(conn, now, until))).await?;
    let count = attempts.len() + refund_ids.len();
    let mut checks = tokio::task::JoinSet::new();
    // The items still being checked, by their check's task.
    let mut held = HashMap::new();
    for attempt in attempts {
        let (state, id) = (state.clone(), attempt.id.clone());
        let task = checks.spawn(async move {
            if let Err(e) = check_attempt(&state, &attempt).await {
                tracing::warn!(attempt = %attempt.id, error = %e, "could not reconcile a payment; will try again");
            }
            checks::reschedule(&state.db, Item::Payment, &attempt.id, next).await
        });
        held.insert(task.id(), (Item::Payment, id));
    }
    for refund in refund_ids {
        let (state, id) = (state.clone(), refund.clone());
        let task = checks.spawn(async move {
            if let Err(e) = refunds::reconcile(&state, &refund).await {
                tracing::warn!(refund = %refund, error = %e, "could not reconcile a refund; will try again");
            }
            checks::reschedule(&state.db, Item::Refund, &refund, next).await
        });
        held.insert(task.id(), (Item::Refund, id));
    }
    let started = tokio::time::Instant::now();
    let mut renew = tokio::time::interval_at(started + RENEW_EVERY, RENEW_EVERY);
    loop {
        tokio::select! {
            done = checks.join_next_with_id() => match done {
                None => break,
                Some(Ok((task, rescheduled))) => {
                    held.remove(&task);
                    if let Err(e) = rescheduled {
                        // Checked again when its lease ends.
                        tracing::warn!(error = %e, "could not schedule a reconciled item's next check");
                    }
                }
                Some(Err(e)) => {
                    held.remove(&e.id());
                    tracing::error!(error = %e, "a reconciliation check failed to finish");
                }
            },
            _ = renew.tick() => {
                let renewed = now + millis(started.elapsed() + LEASE);
                match checks::renew(&state.db, held.values(), until, renewed).await {
                    Ok(()) => until = renewed,
                    Err(e) => tracing::warn!(error = %e, "could not renew reconciliation leases"),
                }
            }
        }
    }
    Ok(count)
}

/// Checks one claimed attempt with its store's gateway.
async fn check_attempt(state: &AppState, attempt: &Attempt) -> Result<(), Error> {
    let store = stores::find(&state.db, &store_of(state, &attempt.order_id).await?).await?;
    payments::ask_gateway(state, &store, attempt).await
}

async fn store_of(state: &AppState, order: &OrderId) -> Result<paylet_api::StoreId, Error> {
    Ok(orders::summary(&state.db, order).await?.store_id)
}

/// Leases the due items to this worker until `lease` (ms).
async fn lease_due(conn: &mut Conn, now: i64, lease: i64) -> Result<(Vec<Attempt>, Vec<String>), Error> {
    let mut claimed = Vec::new();
    for id in checks::lease_due(conn, Item::Payment, now, lease, BATCH).await? {
        match attempt_rows::lock(conn, &id).await {
            Ok(Some(attempt)) => claimed.push(attempt),
            Ok(None) => {}
            // One row that does not read back must not stop every other
            // check; it is said each time it comes due, for a person to mend.
            Err(Error::Corrupt(e)) => tracing::error!(attempt = %id, error = %e, "a payment attempt cannot be read"),
            Err(e) => return Err(e),
        }
    }
    let refunds = checks::lease_due(conn, Item::Refund, now, lease, BATCH).await?;
    Ok((claimed, refunds))
}
