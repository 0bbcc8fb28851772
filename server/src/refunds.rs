//! Refunds, full or partial. A refund is stored `pending` before the gateway
//! is asked (its id is the idempotency key), never for more than is left of
//! the captured amount, and becomes `succeeded` only on the gateway's word:
//! its refund event, or reconciliation asking after it.

use paylet_api::{Money, OrderId, OrderStatus, StoreId};
use paylet_gateway::{GatewayError, RefundRequest, RefundState, RefundUpdate};
use serde::Serialize;
use sqlx::{AnyConnection, Row};

use crate::app::AppState;
use crate::attempt_state::AttemptStatus;
use crate::db::{Arg, Backend, now_millis, rfc3339};
use crate::order_state::OrderEvent;
use crate::orders;
use crate::stores::Store;
use crate::{Error, ids};

// A refund's stored status is its gateway state's name.
const PENDING: &str = RefundState::Pending.as_str();
const SUCCEEDED: &str = RefundState::Succeeded.as_str();
const FAILED: &str = RefundState::Failed.as_str();

#[derive(Debug, Clone, Serialize)]
pub struct Refund {
    pub id: String,
    pub order_id: OrderId,
    pub amount: Money,
    pub status: String,
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
    let (backend, store_id, order_id) = (state.db.backend(), store.id.clone(), order.clone());
    let check_at = state.settings.first_check();
    let (refund, payment_id) =
        match state.db.write(move |conn| Box::pin(begin(conn, backend, store_id, order_id, new, check_at))).await? {
            Begun::New { refund, payment_id } => (refund, payment_id),
            Begun::Repeat(refund) => {
                if refund.status == PENDING {
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
            let failed = outcome.state == RefundState::Failed;
            record_gateway_id(state, &refund.id, &outcome.refund_id, failed).await?;
            Ok(Refund { status: if failed { FAILED } else { PENDING }.into(), ..refund })
        }
        Err(e @ GatewayError::Rejected { .. }) => {
            record_failure(state, &refund.id).await?;
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

const REFUND_COLUMNS: &str = "id, order_id, amount, currency, status, reason, created_at";

fn refund_from_row(row: &sqlx::any::AnyRow) -> Result<Refund, Error> {
    let corrupt = |what: &str| Error::Corrupt(format!("stored refund has an invalid {what}"));
    let order: String = row.try_get("order_id")?;
    let currency: String = row.try_get("currency")?;
    let currency = paylet_api::Currency::parse(&currency).map_err(|_| corrupt("currency"))?;
    Ok(Refund {
        id: row.try_get("id")?,
        order_id: OrderId::parse(&order).map_err(|_| corrupt("order"))?,
        amount: Money::new(row.try_get("amount")?, currency).map_err(|_| corrupt("amount"))?,
        status: row.try_get("status")?,
        reason: row.try_get("reason")?,
        created_at: rfc3339(row.try_get("created_at")?),
    })
}

async fn find(state: &AppState, store: &StoreId, id: &str) -> Result<Refund, Error> {
    let sql = format!("SELECT {REFUND_COLUMNS} FROM refunds WHERE store_id = $1 AND id = $2");
    let row = sqlx::query(&sql).bind(store.as_str()).bind(id).fetch_optional(state.db.reader()).await?;
    refund_from_row(&row.ok_or(Error::NotFound("refund"))?)
}

async fn begin(
    conn: &mut AnyConnection,
    backend: Backend,
    store: StoreId,
    order: OrderId,
    new: NewRefund,
    check_at: i64,
) -> Result<Begun, Error> {
    let status = orders::status_in(conn, backend, &order).await?;
    // Another store's order is not found, whatever its status.
    if orders::summary_in(conn, &order).await?.store_id != store {
        return Err(Error::NotFound("order"));
    }
    if let Some(key) = &new.request_key {
        let sql =
            format!("SELECT {REFUND_COLUMNS} FROM refunds WHERE store_id = $1 AND order_id = $2 AND request_key = $3");
        let row =
            sqlx::query(&sql).bind(store.as_str()).bind(order.as_str()).bind(key).fetch_optional(&mut *conn).await?;
        if let Some(row) = row {
            return Ok(Begun::Repeat(refund_from_row(&row)?));
        }
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
        status: PENDING.into(),
        reason,
        created_at: rfc3339(now),
    };
    sqlx::query(
        "INSERT INTO refunds (id, attempt_id, order_id, store_id, amount, currency, status, reason, check_at, \
         created_at, updated_at, request_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11)",
    )
    .bind(&refund.id)
    .bind(&captured.attempt_id)
    .bind(order.as_str())
    .bind(store.as_str())
    .bind(amount.amount())
    .bind(amount.currency().code())
    .bind(PENDING)
    .bind(refund.reason.as_deref())
    .bind(check_at)
    .bind(now)
    .bind(request_key)
    .execute(&mut *conn)
    .await?;
    let detail = format!("Refund of {amount} requested.");
    orders::record_in(conn, &order, &store, "refund_requested", &detail).await?;
    Ok(Begun::New { refund, payment_id: captured.payment_id })
}

async fn captured(conn: &mut AnyConnection, order: &OrderId) -> Result<Captured, Error> {
    let row = sqlx::query(
        "SELECT id, gateway_payment_id, amount, currency FROM payment_attempts \
         WHERE order_id = $1 AND status = $2 AND gateway_payment_id IS NOT NULL ORDER BY updated_at LIMIT 1",
    )
    .bind(order.as_str())
    .bind(AttemptStatus::Succeeded.as_str())
    .fetch_optional(conn)
    .await?
    .ok_or_else(|| Error::Corrupt(format!("paid order {order} has no captured payment")))?;
    let currency: String = row.try_get("currency")?;
    let currency = paylet_api::Currency::parse(&currency).map_err(|e| Error::Corrupt(e.to_string()))?;
    Ok(Captured {
        attempt_id: row.try_get("id")?,
        payment_id: row.try_get("gateway_payment_id")?,
        amount: Money::new(row.try_get("amount")?, currency).map_err(|e| Error::Corrupt(e.to_string()))?,
    })
}

/// What is refunded of the order: refunds that succeeded, and with
/// `with_pending` those still pending too (they may yet succeed).
async fn refunded(conn: &mut AnyConnection, order: &OrderId, like: Money, with_pending: bool) -> Result<Money, Error> {
    let row = sqlx::query(
        "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS total FROM refunds WHERE order_id = $1 AND (status = $2 OR status = $3)",
    )
    .bind(order.as_str())
    .bind(SUCCEEDED)
    .bind(if with_pending { PENDING } else { SUCCEEDED })
    .fetch_one(conn)
    .await?;
    Money::new(row.try_get("total")?, like.currency()).map_err(|e| Error::Corrupt(e.to_string()))
}

async fn record_gateway_id(state: &AppState, refund: &str, gateway_id: &str, failed: bool) -> Result<(), Error> {
    // Unless its event came first and already gave this id to a refund.
    let sql = "UPDATE refunds SET gateway_refund_id = $1, \
               status = CASE WHEN $2 = 1 AND status = 'pending' THEN 'failed' ELSE status END, updated_at = $3 \
               WHERE id = $4 AND gateway_refund_id IS NULL \
               AND NOT EXISTS (SELECT 1 FROM refunds r WHERE r.store_id = refunds.store_id AND r.gateway_refund_id = $5)";
    let args = vec![
        Arg::Text(gateway_id.into()),
        Arg::Int(i64::from(failed)),
        Arg::Int(now_millis()),
        Arg::Text(refund.into()),
        Arg::Text(gateway_id.into()),
    ];
    state.db.execute(sql, args).await
}

async fn record_failure(state: &AppState, refund: &str) -> Result<(), Error> {
    // Refused without effect: its request key is free for another try.
    let sql =
        "UPDATE refunds SET status = 'failed', check_at = NULL, request_key = NULL, updated_at = $1 WHERE id = $2";
    state.db.execute(sql, vec![Arg::Int(now_millis()), Arg::Text(refund.into())]).await
}

/// Applies the gateway's word on refunds of `payment_id` inside a write job.
/// Returns the order they belong to, or `None` when the payment is not one of
/// this store's. A refund made elsewhere (the gateway's dashboard) is recorded
/// too: the money went back either way.
pub async fn apply(
    conn: &mut AnyConnection,
    backend: Backend,
    store: &StoreId,
    payment_id: &str,
    updates: &[RefundUpdate],
) -> Result<Option<OrderId>, Error> {
    let Some(row) = sqlx::query(
        "SELECT id, order_id FROM payment_attempts WHERE store_id = $1 AND gateway_payment_id = $2 AND status = $3",
    )
    .bind(store.as_str())
    .bind(payment_id)
    .bind(AttemptStatus::Succeeded.as_str())
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let attempt: String = row.try_get("id")?;
    let order: String = row.try_get("order_id")?;
    let order = OrderId::parse(&order).map_err(|_| Error::Corrupt("stored attempt has an invalid order".into()))?;
    // Lock the order first, as every transition does.
    orders::status_in(conn, backend, &order).await?;
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
        orders::transition(conn, backend, &order, OrderEvent::Refunded { fully }).await?;
    }
    Ok(Some(order))
}

/// Moves one refund from pending; true when it newly succeeded.
async fn settle_one(
    conn: &mut AnyConnection,
    store: &StoreId,
    order: &OrderId,
    attempt: &str,
    update: &RefundUpdate,
) -> Result<bool, Error> {
    let to = match update.state {
        RefundState::Pending => return Ok(false),
        done => done.as_str(),
    };
    let now = now_millis();
    if move_known(conn, store, &update.refund_id, to, now).await? {
        return Ok(to == SUCCEEDED);
    }
    // Ours, but the gateway's event beat its answer (which carries the id):
    // the oldest such refund of this amount is the one.
    let claimed = sqlx::query(
        "UPDATE refunds SET gateway_refund_id = $1, status = $2, check_at = NULL, updated_at = $3 WHERE id = \
         (SELECT id FROM refunds WHERE attempt_id = $4 AND gateway_refund_id IS NULL AND status = 'pending' \
         AND amount = $5 ORDER BY created_at, id LIMIT 1)",
    )
    .bind(&update.refund_id)
    .bind(to)
    .bind(now)
    .bind(attempt)
    .bind(update.amount.amount())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if claimed > 0 {
        return Ok(to == SUCCEEDED);
    }
    let known = sqlx::query("SELECT 1 AS known FROM refunds WHERE store_id = $1 AND gateway_refund_id = $2")
        .bind(store.as_str())
        .bind(&update.refund_id)
        .fetch_optional(&mut *conn)
        .await?
        .is_some();
    if known {
        // Its answer was recorded while this event was applied (on Postgres
        // that commit is seen only now): move it, unless already settled.
        return Ok(move_known(conn, store, &update.refund_id, to, now).await? && to == SUCCEEDED);
    }
    sqlx::query(
        "INSERT INTO refunds (id, attempt_id, order_id, store_id, amount, currency, status, reason, gateway_refund_id, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'made at the gateway', $8, $9, $9)",
    )
    .bind(format!("rf_{}", ids::time_ordered(20)))
    .bind(attempt)
    .bind(order.as_str())
    .bind(store.as_str())
    .bind(update.amount.amount())
    .bind(update.amount.currency().code())
    .bind(to)
    .bind(&update.refund_id)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(to == SUCCEEDED)
}

/// Settles the pending refund the gateway knows as `gateway_id`; true if one moved.
async fn move_known(
    conn: &mut AnyConnection,
    store: &StoreId,
    gateway_id: &str,
    to: &str,
    now: i64,
) -> Result<bool, Error> {
    let moved = sqlx::query(
        "UPDATE refunds SET status = $1, check_at = NULL, updated_at = $2 \
         WHERE store_id = $3 AND gateway_refund_id = $4 AND status = 'pending'",
    )
    .bind(to)
    .bind(now)
    .bind(store.as_str())
    .bind(gateway_id)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(moved > 0)
}

/// Asks the gateway for every refund of a payment and applies what it says.
pub async fn refresh(state: &AppState, store: &crate::stores::Store, payment_id: &str) -> Result<(), Error> {
    let updates = store.gateway.client(&state.http).refunds_of(payment_id).await?;
    let (backend, store_id, payment_id) = (state.db.backend(), store.id.clone(), payment_id.to_owned());
    state
        .db
        .write(move |conn| {
            Box::pin(async move { apply(conn, backend, &store_id, &payment_id, &updates).await.map(|_| ()) })
        })
        .await
}

/// Asks the gateway about a pending refund, or asks again for one whose
/// request never got an answer (same key: it happens at most once).
pub async fn reconcile(state: &AppState, refund_id: &str) -> Result<(), Error> {
    let row = sqlx::query(
        "SELECT r.store_id, r.amount, r.currency, r.gateway_refund_id, a.gateway_payment_id FROM refunds r \
         JOIN payment_attempts a ON a.id = r.attempt_id WHERE r.id = $1 AND r.status = 'pending'",
    )
    .bind(refund_id)
    .fetch_optional(state.db.reader())
    .await?;
    let Some(row) = row else { return Ok(()) };
    let store: String = row.try_get("store_id")?;
    let store = StoreId::parse(&store).map_err(|_| Error::Corrupt("stored refund has an invalid store".into()))?;
    let store = crate::stores::find(&state.db, &store).await?;
    let gateway = store.gateway.client(&state.http);
    let payment_id: String = row.try_get("gateway_payment_id")?;
    let currency: String = row.try_get("currency")?;
    let currency = paylet_api::Currency::parse(&currency).map_err(|e| Error::Corrupt(e.to_string()))?;
    let amount = Money::new(row.try_get("amount")?, currency).map_err(|e| Error::Corrupt(e.to_string()))?;
    let (gateway_id, refund_state) = match row.try_get::<Option<String>, _>("gateway_refund_id")? {
        Some(id) => {
            let refund_state = gateway.refund_state(&id).await?;
            (id, refund_state)
        }
        None => {
            let outcome =
                gateway.refund(RefundRequest { payment_id: &payment_id, amount, idempotency_key: refund_id }).await?;
            record_gateway_id(state, refund_id, &outcome.refund_id, false).await?;
            (outcome.refund_id, outcome.state)
        }
    };
    let update = RefundUpdate { refund_id: gateway_id, amount, state: refund_state };
    let backend = state.db.backend();
    state
        .db
        .write(move |conn| {
            Box::pin(async move { apply(conn, backend, &store.id, &payment_id, &[update]).await.map(|_| ()) })
        })
        .await
}
