//! Refunds: created `PENDING`, completed shortly after (as on Square), with
//! `refund.created`, `refund.updated` and `payment.updated` events.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde::Deserialize;
use serde_json::{Value, json};

use super::objects::Refund;
use super::payments::{MoneyIn, check_money};
use super::{SquareError, SquareRequest, authenticate, emit};
use crate::ids::{now_ms, random_suffix};
use crate::owned::OwnedLookup;
use crate::state::{Shared, World};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RefundPayment {
    idempotency_key: String,
    amount_money: MoneyIn,
    payment_id: String,
    #[serde(default)]
    reason: Option<String>,
}

pub(crate) async fn create(
    State(shared): State<Arc<Shared>>,
    req: SquareRequest<RefundPayment>,
) -> Result<Json<Value>, SquareError> {
    let account = shared.read(|w| authenticate(&req.headers, w))?;
    let b = &req.body;
    if b.idempotency_key.len() > 45 {
        return Err(
            SquareError::invalid("VALUE_TOO_LONG", "Field must not be greater than 45 length").field("idempotency_key")
        );
    }
    if b.reason.as_ref().is_some_and(|r| r.len() > 192) {
        return Err(SquareError::invalid("VALUE_TOO_LONG", "Field must not be greater than 192 length").field("reason"));
    }
    let currency = check_money(&b.amount_money, "amount_money")?;
    let settle_after = i64::try_from(shared.config.refund_settle.as_millis()).unwrap_or(0);
    let latency = shared.read(|w| w.refund_latency(&account.id));
    let answer = shared.write(|w| {
        let payment = w
            .square
            .payments
            .owned_by(&b.payment_id, &account.id)
            .cloned()
            .ok_or_else(|| SquareError::not_found("payment", &b.payment_id))?;
        if payment.status != "COMPLETED" {
            return Err(SquareError::refund(
                "PAYMENT_NOT_REFUNDABLE",
                format!("A payment with status {} cannot be refunded.", payment.status),
            ));
        }
        if currency != payment.currency {
            return Err(SquareError::invalid("CURRENCY_MISMATCH", "The refund currency must match the payment's.")
                .field("amount_money.currency"));
        }
        // Completed refunds are counted on the payment; pending ones are recent, so still stored.
        let pending: i64 = (payment.refund_ids.iter().filter_map(|id| w.square.refunds.get(id)))
            .filter(|r| r.status == "PENDING")
            .map(|r| r.amount)
            .sum();
        let committed = payment.refunded + pending;
        if b.amount_money.amount > payment.amount - committed {
            return Err(SquareError::refund(
                "REFUND_AMOUNT_INVALID",
                "The requested refund amount exceeds the amount available to refund.",
            )
            .field("amount_money.amount"));
        }
        let now = now_ms();
        let refund = Refund {
            id: format!("{}_{}", payment.id, random_suffix(43)),
            account_id: account.id.clone(),
            payment_id: payment.id.clone(),
            location_id: payment.location_id.clone(),
            order_id: payment.order_id.clone(),
            amount: b.amount_money.amount,
            currency,
            status: "PENDING".into(),
            reason: b.reason.clone(),
            created_ms: now,
            updated_ms: now,
            settle_at_ms: Some(now + settle_after),
        };
        let json = refund.to_json();
        w.square.refunds.insert(refund.id.clone(), refund.clone());
        w.webhooks.mark_schedule_changed();
        if let Some(p) = w.square.payments.get_mut(&payment.id) {
            p.refund_ids.push(refund.id.clone());
        }
        emit(w, &account.id, "refund.created", "refund", &refund.id, json.clone());
        Ok(Json(json!({ "refund": json })))
    });
    tokio::time::sleep(latency).await;
    answer
}

pub(crate) async fn retrieve(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, SquareError> {
    shared.read(|w| {
        let account = authenticate(&headers, w)?;
        w.square
            .refunds
            .owned_by(&id, &account.id)
            .map(|r| Json(json!({ "refund": r.to_json() })))
            .ok_or_else(|| SquareError::not_found("refund", &id))
    })
}

/// Completes pending refunds whose time has come (called by the worker).
pub(crate) fn settle_refunds(w: &mut World, now: i64) {
    let due: Vec<String> =
        w.square.refunds.values().filter(|r| r.settle_at_ms.is_some_and(|t| t <= now)).map(|r| r.id.clone()).collect();
    for id in due {
        let Some(refund) = w.square.refunds.get_mut(&id) else { continue };
        refund.status = "COMPLETED".into();
        refund.updated_ms = now;
        refund.settle_at_ms = None;
        let refund = refund.clone();
        emit(w, &refund.account_id, "refund.updated", "refund", &refund.id, refund.to_json());
        if let Some(p) = w.square.payments.get_mut(&refund.payment_id) {
            p.refunded += refund.amount;
            p.updated_ms = now;
            p.version += 1;
            let json = p.to_json();
            emit(w, &refund.account_id, "payment.updated", "payment", &refund.payment_id, json);
        }
    }
}
