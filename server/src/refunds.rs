//! Refunds, full or partial. A refund is stored `pending` before the gateway
//! is asked (its id is the idempotency key), never for more than is left of
//! the captured amount, and becomes `succeeded` only on the gateway's word:
//! its refund event, or reconciliation asking after it.

use paylet_api::{Money, OrderId, OrderStatus, StoreId};
use paylet_gateway::{GatewayError, RefundRequest, RefundUpdate};
use serde::Serialize;

use crate::app::AppState;
use crate::db::payment_attempts as attempt_rows;
use crate::db::refunds as refund_rows;
use crate::db::{Conn, now_millis, rfc3339};
use crate::order_state::OrderEvent;
use crate::orders;
use crate::refund_state::{self, RefundStatus};
use crate::stores::Store;
use crate::{Error, ids};

#[derive(Debug, Clone, Serialize)]
pub struct Refund {
    pub id: String,
    pub order_id: OrderId,
    pub amount: Money,
    pub status: RefundStatus,
    pub reason: Option<String>,
    pub created_at: String,
}

/// What the refund is of: the order's captured payment.
struct Captured {
    attempt_id: String,
    payment_id: String,
    amount: Money,
}

/// What a refund request asks for.
pub struct NewRefund {
    /// All that is left when `None`.
    pub amount: Option<Money>,
    pub reason: Option<String>,
    /// The request's Idempotency-Key, if it had one.
    pub request_key: Option<String>,
}

/// Asks the gateway to refund part or all of the order's payment. A request
/// repeated under the same key (its first answer lost) asks again about the
/// refund it made, under that refund's own gateway key.
pub async fn create(state: &AppState, store: &Store, order: &OrderId, new: NewRefund) -> Result<Refund, Error> {
    if new.reason.as_ref().is_some_and(|r| r.chars().count() > 500) {
        return Err(Error::invalid("invalid_reason", "reason", "A reason has at most 500 characters."));
    }
    let (store_id, order_id) = (store.id.clone(), order.clone());
    let check_at = state.settings.first_check();
    let (refund, payment_id) =
        match state.db.write(move |conn| Box::pin(begin(conn, store_id, order_id, new, check_at))).await? {
            Begun::New { refund, payment_id } => (refund, payment_id),
            Begun::Repeat(refund) => {
                if refund.status == RefundStatus::Pending {
                    reconcile(state, &refund.id).await?;
                }
                return find(state, &store.id, &refund.id).await;
            }
        };
    let outcome = store
        .gateway
        .client(&state.http)
        .refund(RefundRequest { payment_id: &payment_id, amount: refund.amount, idempotency_key: &refund.id })
        .await;
    match outcome {
        Ok(outcome) => {
            let failed = outcome.state == RefundStatus::Failed;
            refund_rows::answered(&state.db, &refund.id, &outcome.refund_id, failed, now_millis()).await?;
            Ok(Refund { status: if failed { RefundStatus::Failed } else { RefundStatus::Pending }, ..refund })
        }
        Err(e @ GatewayError::Rejected { .. }) => {
            refund_rows::refused(&state.db, &refund.id, now_millis()).await?;
            Err(e.into())
        }
        // Unknown whether it happened: reconciliation asks again under the same key.
        Err(e) => Err(e.into()),
    }
}

enum Begun {
    New {
        refund: Refund,
        payment_id: String,
    },
    /// The refund an earlier request under the same key made.
    Repeat(Refund),
}

async fn find(state: &AppState, store: &StoreId, id: &str) -> Result<Refund, Error> {
    refund_rows::find(&state.db, store, id).await?.ok_or(Error::NotFound("refund"))
}

async fn begin(conn: &mut Conn, store: StoreId, order: OrderId, new: NewRefund, check_at: i64) -> Result<Begun, Error> {
    let status = orders::status_in(conn, &order).await?;
    // Another store's order is not found, whatever its status.
    if orders::summary_in(conn, &order).await?.store_id != store {
        return Err(Error::NotFound("order"));
    }
    if let Some(key) = &new.request_key
        && let Some(refund) = refund_rows::by_request_key(conn, &store, &order, key).await?
    {
        return Ok(Begun::Repeat(refund));
    }
    if !matches!(status, OrderStatus::Paid | OrderStatus::PartiallyRefunded) {
        return Err(Error::Conflict {
            code: "order_not_refundable",
            message: format!("Only a paid order can be refunded; this one is {}.", status.as_str()),
        });
    }
    let NewRefund { amount, reason, request_key } = new;
    let captured = captured(conn, &order).await?;
    let left = captured
        .amount
        .checked_sub(refunded(conn, &order, captured.amount, true).await?)
        .map_err(|_| Error::Corrupt("refunds exceed the captured amount".into()))?;
    let amount = amount.unwrap_or(left);
    if amount.currency() != captured.amount.currency() {
        return Err(Error::invalid("currency_mismatch", "amount.currency", "Refund in the order's currency."));
    }
    if amount.amount() < 1 {
        return Err(Error::invalid("invalid_amount", "amount.amount", "A refund is at least 1 minor unit."));
    }
    if amount.amount() > left.amount() {
        return Err(Error::invalid(
            "amount_too_large",
            "amount.amount",
            format!("At most {left} is left to refund on this order."),
        ));
    }
    let now = now_millis();
    let refund = Refund {
        id: format!("rf_{}", ids::time_ordered(20)),
        order_id: order.clone(),
        amount,
        status: RefundStatus::Pending,
        reason,
        created_at: rfc3339(now),
    };
    let requested = refund_rows::Requested {
        refund: &refund,
        attempt_id: &captured.attempt_id,
        store: &store,
        check_at,
        now,
        request_key,
    };
    refund_rows::insert(conn, requested).await?;
    let detail = format!("Refund of {amount} requested.");
    orders::record_in(conn, &order, &store, "refund_requested", &detail).await?;
    Ok(Begun::New { refund, payment_id: captured.payment_id })
}

async fn captured(conn: &mut Conn, order: &OrderId) -> Result<Captured, Error> {
    let (attempt_id, payment_id, amount) = attempt_rows::captured(conn, order)
        .await?
        .ok_or_else(|| Error::Corrupt(format!("paid order {order} has no captured payment")))?;
    Ok(Captured { attempt_id, payment_id, amount })
}

/// What is refunded of the order: refunds that succeeded, and with
/// `with_pending` those still pending too (they may yet succeed).
async fn refunded(conn: &mut Conn, order: &OrderId, like: Money, with_pending: bool) -> Result<Money, Error> {
    use RefundStatus::{Pending, Succeeded};
    let total = refund_rows::total(conn, order, Succeeded, if with_pending { Pending } else { Succeeded }).await?;
    Money::new(total, like.currency()).map_err(|e| Error::Corrupt(e.to_string()))
}

/// Applies the gateway's word on refunds of `payment_id` inside a write job.
/// Returns the order they belong to, or `None` when the payment is not one of
/// this store's. A refund made elsewhere (the gateway's dashboard) is recorded
/// too: the money went back either way.
pub async fn apply(
    conn: &mut Conn,
    store: &StoreId,
    payment_id: &str,
    updates: &[RefundUpdate],
) -> Result<Option<OrderId>, Error> {
    let Some((attempt, order)) = attempt_rows::succeeded(conn, store, payment_id).await? else {
        return Ok(None);
    };
    // Lock the order first, as every transition does.
    orders::status_in(conn, &order).await?;
    let mut newly_succeeded = Vec::new();
    for update in updates {
        if settle_one(conn, store, &order, &attempt, update).await? {
            newly_succeeded.push(update.amount);
        }
    }
    if !newly_succeeded.is_empty() {
        let captured = captured(conn, &order).await?;
        let refunded = refunded(conn, &order, captured.amount, false).await?;
        for amount in newly_succeeded {
            orders::record_in(conn, &order, store, "refund_succeeded", &format!("Refund of {amount} succeeded."))
                .await?;
        }
        let fully = refunded.amount() >= captured.amount.amount();
        orders::transition(conn, &order, OrderEvent::Refunded { fully }).await?;
    }
    Ok(Some(order))
}

/// Moves one refund from pending; true when it newly succeeded.
async fn settle_one(
    conn: &mut Conn,
    store: &StoreId,
    order: &OrderId,
    attempt: &str,
    update: &RefundUpdate,
) -> Result<bool, Error> {
    // The writes below move a refund only while it is pending.
    let Some(to) = refund_state::next(RefundStatus::Pending, update.state) else { return Ok(false) };
    let succeeded = to == RefundStatus::Succeeded;
    let now = now_millis();
    if refund_rows::settle_known(conn, store, &update.refund_id, to, now).await? {
        return Ok(succeeded);
    }
    // Ours, but the gateway's event beat its answer (which carries the id):
    // the oldest such refund of this amount is the one.
    if refund_rows::settle_unanswered(conn, attempt, update.amount.amount(), (&update.refund_id, to), now).await? {
        return Ok(succeeded);
    }
    if refund_rows::is_known(conn, store, &update.refund_id).await? {
        // Its answer was recorded while this event was applied (on Postgres
        // that commit is seen only now): move it, unless already settled.
        return Ok(refund_rows::settle_known(conn, store, &update.refund_id, to, now).await? && succeeded);
    }
    let made = refund_rows::MadeElsewhere {
        id: format!("rf_{}", ids::time_ordered(20)),
        attempt_id: attempt,
        order,
        store,
        amount: update.amount,
        status: to,
        gateway_id: &update.refund_id,
        now,
    };
    refund_rows::insert_made_elsewhere(conn, made).await?;
    Ok(succeeded)
}

/// Asks the gateway for every refund of a payment and applies what it says.
pub async fn refresh(state: &AppState, store: &crate::stores::Store, payment_id: &str) -> Result<(), Error> {
    let updates = store.gateway.client(&state.http).refunds_of(payment_id).await?;
    let (store_id, payment_id) = (store.id.clone(), payment_id.to_owned());
    state
        .db
        .write(move |conn| Box::pin(async move { apply(conn, &store_id, &payment_id, &updates).await.map(|_| ()) }))
        .await
}

/// Asks the gateway about a pending refund, or asks again for one whose
/// request never got an answer (same key: it happens at most once).
pub async fn reconcile(state: &AppState, refund_id: &str) -> Result<(), Error> {
    let Some(pending) = refund_rows::pending(&state.db, refund_id).await? else { return Ok(()) };
    let store =
        StoreId::parse(&pending.store_id).map_err(|_| Error::Corrupt("stored refund has an invalid store".into()))?;
    let store = crate::stores::find(&state.db, &store).await?;
    let gateway = store.gateway.client(&state.http);
    let payment_id = pending.gateway_payment_id;
    let currency = paylet_api::Currency::parse(&pending.currency).map_err(|e| Error::Corrupt(e.to_string()))?;
    let amount = Money::new(pending.amount, currency).map_err(|e| Error::Corrupt(e.to_string()))?;
    let (gateway_id, refund_state) = match pending.gateway_refund_id {
        Some(id) => {
            let refund_state = gateway.refund_state(&id).await?;
            (id, refund_state)
        }
        None => {
            let outcome =
                gateway.refund(RefundRequest { payment_id: &payment_id, amount, idempotency_key: refund_id }).await?;
            refund_rows::answered(&state.db, refund_id, &outcome.refund_id, false, now_millis()).await?;
            (outcome.refund_id, outcome.state)
        }
    };
    let update = RefundUpdate { refund_id: gateway_id, amount, state: refund_state };
    state
        .db
        .write(move |conn| Box::pin(async move { apply(conn, &store.id, &payment_id, &[update]).await.map(|_| ()) }))
        .await
}
