//! Paying an order with a gateway token.
//!
//! Each (order, token) pair is one payment attempt, stored before the gateway is
//! called; the attempt's id is the gateway idempotency key. A retry of the same
//! attempt (after a timeout, say) reuses the key, so the gateway charges at most
//! once, and only one attempt per order may be in flight.

use paylet_api::{Decline, NextAction, OrderId, OrderStatus, PayRequest, PaymentResult};
use paylet_gateway::{ChargeOutcome, ChargeRequest, DeclineCode};
use sqlx::Row;

use crate::app::AppState;
use crate::db::{Db, now_millis};
use crate::order_state::OrderEvent;
use crate::orders::{self, OrderSummary};
use crate::{Error, ids, stores};

/// An attempt's state, as stored in `payments.status`.
mod status {
    pub const PROCESSING: &str = "processing";
    pub const SUCCEEDED: &str = "succeeded";
    pub const DECLINED: &str = "declined";
    pub const REQUIRES_ACTION: &str = "requires_action";
}

pub async fn pay(state: &AppState, order_id: &OrderId, request: &PayRequest) -> Result<PaymentResult, Error> {
    validate_token(&request.token)?;
    let order = orders::find_for_client(&state.db, order_id, &request.client_secret).await?;
    let store = stores::find(&state.db, &order.store_id).await?;
    let gateway = store.gateway.client(&state.http)?;

    let attempt = match begin_attempt(&state.db, &order, &request.token).await? {
        Attempt::Settled(result) => return Ok(result),
        Attempt::Charge(id) => id,
    };
    let outcome = gateway
        .charge(ChargeRequest {
            amount: order.total,
            token: &request.token,
            idempotency_key: &attempt,
            reference: order.id.as_str(),
            return_url: None,
        })
        .await?;
    record_outcome(&state.db, &order, &attempt, &outcome).await
}

/// Gateway tokens are short printable ASCII (`tok_…`, `pm_…`, `cnon:…`).
fn validate_token(token: &str) -> Result<(), Error> {
    let ok = (1..=255).contains(&token.len()) && token.bytes().all(|b| b.is_ascii_graphic());
    if ok { Ok(()) } else { Err(Error::invalid("invalid_token", "token", "The card token is missing or malformed.")) }
}

enum Attempt {
    /// Nothing to charge: the order is paid, or this attempt already finished.
    Settled(PaymentResult),
    /// Call the gateway with this attempt id as the idempotency key.
    Charge(String),
}

async fn begin_attempt(db: &Db, order: &OrderSummary, token: &str) -> Result<Attempt, Error> {
    let mut tx = db.begin().await?;
    let status = orders::status_in(db, &mut tx, &order.id).await?;
    match status {
        OrderStatus::Paid | OrderStatus::PartiallyRefunded | OrderStatus::Refunded => {
            return Ok(Attempt::Settled(result(order, status, None, None)));
        }
        OrderStatus::Pending => {}
        OrderStatus::RequiresAction => {
            return Err(Error::Conflict {
                code: "order_requires_action",
                message: "Finish the card verification that is in progress first.".into(),
            });
        }
        OrderStatus::Failed | OrderStatus::Canceled => {
            return Err(Error::Conflict {
                code: "order_not_payable",
                message: "This order can no longer be paid.".into(),
            });
        }
    }

    let existing = sqlx::query(
        "SELECT id, token, status, decline_code, redirect_url FROM payments WHERE order_id = $1 AND status IN ($2, $3)",
    )
    .bind(order.id.as_str())
    .bind(status::PROCESSING)
    .bind(status::REQUIRES_ACTION)
    .fetch_all(&mut *tx)
    .await?;
    if existing.iter().any(|row| row.try_get::<String, _>("token").is_ok_and(|t| t != token)) {
        return Err(Error::Conflict {
            code: "payment_in_progress",
            message: "A payment for this order is already in progress.".into(),
        });
    }

    let previous =
        sqlx::query("SELECT id, status, decline_code, redirect_url FROM payments WHERE order_id = $1 AND token = $2")
            .bind(order.id.as_str())
            .bind(token)
            .fetch_optional(&mut *tx)
            .await?;
    if let Some(row) = previous {
        let id: String = row.try_get("id")?;
        let attempt_status: String = row.try_get("status")?;
        return match attempt_status.as_str() {
            status::DECLINED => {
                let code: Option<String> = row.try_get("decline_code")?;
                let code = DeclineCode::parse(code.as_deref().unwrap_or_default());
                Ok(Attempt::Settled(result(order, status, Some(code), None)))
            }
            // Processing: a retry after a lost answer. Same key, so no double charge.
            _ => Ok(Attempt::Charge(id)),
        };
    }

    let id = ids::new_payment_id();
    let now = now_millis();
    sqlx::query(
        "INSERT INTO payments (id, order_id, store_id, token, status, amount, currency, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
    )
    .bind(&id)
    .bind(order.id.as_str())
    .bind(order.store_id.as_str())
    .bind(token)
    .bind(status::PROCESSING)
    .bind(order.total.amount())
    .bind(order.total.currency().code())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Attempt::Charge(id))
}

/// Stores the gateway's answer and moves the order, in one transaction.
async fn record_outcome(
    db: &Db,
    order: &OrderSummary,
    attempt: &str,
    outcome: &ChargeOutcome,
) -> Result<PaymentResult, Error> {
    let (attempt_status, gateway_id, decline, redirect, event) = match outcome {
        ChargeOutcome::Succeeded { payment_id } => {
            (status::SUCCEEDED, Some(payment_id), None, None, Some(OrderEvent::PaymentSucceeded))
        }
        ChargeOutcome::Declined { payment_id, code } => {
            (status::DECLINED, payment_id.as_ref(), Some(*code), None, None)
        }
        ChargeOutcome::RequiresAction { payment_id, redirect_url } => (
            status::REQUIRES_ACTION,
            Some(payment_id),
            None,
            Some(redirect_url.as_str()),
            Some(OrderEvent::PaymentRequiresAction),
        ),
    };
    let mut tx = db.begin().await?;
    sqlx::query(
        "UPDATE payments SET status = $1, gateway_payment_id = $2, decline_code = $3, redirect_url = $4, \
         updated_at = $5 WHERE id = $6",
    )
    .bind(attempt_status)
    .bind(gateway_id)
    .bind(decline.map(DeclineCode::as_str))
    .bind(redirect)
    .bind(now_millis())
    .bind(attempt)
    .execute(&mut *tx)
    .await?;
    let order_status = match event {
        Some(event) => orders::transition(db, &mut tx, &order.id, event).await?,
        None => orders::status_in(db, &mut tx, &order.id).await?,
    };
    if let Some(code) = decline {
        orders::record_in(
            &mut tx,
            &order.id,
            &order.store_id,
            "payment_declined",
            &format!("Card declined: {}.", code.as_str()),
        )
        .await?;
    }
    tx.commit().await?;
    tracing::info!(order = %order.id, payment = attempt, outcome = attempt_status, "payment attempt finished");
    Ok(result(order, order_status, decline, redirect))
}

fn result(
    order: &OrderSummary,
    status: OrderStatus,
    decline: Option<DeclineCode>,
    redirect: Option<&str>,
) -> PaymentResult {
    PaymentResult {
        order_id: order.id.clone(),
        status,
        decline: decline
            .map(|code| Decline { code: code.as_str().to_owned(), message: code.shopper_message().to_owned() }),
        next_action: redirect.map(|url| NextAction { redirect_url: url.to_owned() }),
    }
}
