//! Refunds (full and partial) and the charges they refund.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use serde_json::Value;

use super::objects::{Charge, Refund};
use super::{StripeError, StripeRequest, emit};
use crate::ids::{new_id, now_unix};
use crate::owned::OwnedLookup;
use crate::pages::amount;
use crate::state::{Shared, World};

pub(crate) async fn create(State(shared): State<Arc<Shared>>, req: StripeRequest) -> Result<Json<Value>, StripeError> {
    let account = shared.read(|w| req.secret_account(w))?;
    let p = &req.params;
    p.reject_unknown(&["payment_intent", "charge", "amount", "reason", "metadata["])?;
    let reason = p.get("reason").map(str::to_owned);
    if reason.as_deref().is_some_and(|r| !["duplicate", "fraudulent", "requested_by_customer"].contains(&r)) {
        return Err(StripeError::invalid_request("parameter_invalid_string", "Invalid reason.").param("reason"));
    }
    let requested = p.integer("amount")?;
    let key = req.idempotency_key();
    let latency = shared.read(|w| w.refund_latency(&account.id));
    let answer = shared.write(|w| {
        let charge_id = match (p.get("charge"), p.get("payment_intent")) {
            (Some(ch), _) => ch.to_owned(),
            (None, Some(pi)) => w
                .stripe
                .payment_intents
                .owned_by(pi, &account.id)
                .ok_or_else(|| StripeError::no_such("payment_intent", pi, "payment_intent"))?
                .latest_charge
                .clone()
                .ok_or_else(|| {
                    StripeError::invalid(format!(
                        "This PaymentIntent ({pi}) does not have a successful charge to refund."
                    ))
                    .param("payment_intent")
                })?,
            (None, None) => {
                return Err(StripeError::invalid(
                    "One of the following params should be provided for this request: payment_intent or charge.",
                ));
            }
        };
        let charge = w
            .stripe
            .charges
            .owned_by(&charge_id, &account.id)
            .cloned()
            .ok_or_else(|| StripeError::no_such("charge", &charge_id, "charge"))?;
        let remaining = charge.amount - charge.amount_refunded;
        if remaining == 0 {
            return Err(StripeError::invalid_request(
                "charge_already_refunded",
                format!("Charge {charge_id} has already been refunded."),
            ));
        }
        let refund_amount = requested.unwrap_or(remaining);
        if refund_amount < 1 {
            return Err(
                StripeError::invalid_request("amount_too_small", "Refund amount must be at least 1.").param("amount")
            );
        }
        if refund_amount > remaining {
            return Err(StripeError::invalid(format!(
                "Refund amount ({}) is greater than unrefunded amount on charge ({})",
                amount(refund_amount, &charge.currency),
                amount(remaining, &charge.currency)
            ))
            .param("amount"));
        }
        let refund = Refund {
            id: new_id("re"),
            account_id: account.id.clone(),
            amount: refund_amount,
            charge: charge_id.clone(),
            currency: charge.currency.clone(),
            payment_intent: charge.payment_intent.clone(),
            reason,
            metadata: p.map("metadata"),
            created: now_unix(),
        };
        let json = refund.to_json();
        w.stripe.refunds.insert(refund.id.clone(), refund.clone());
        if let Some(c) = w.stripe.charges.get_mut(&charge_id) {
            c.amount_refunded += refund_amount;
            c.refunds.push(refund.id);
        }
        // As Stripe sends them to an endpoint on a current API version: the
        // charge without its refunds, and the refund in its own event.
        emit(w, &account.id, "refund.created", json.clone(), key.as_deref());
        let charge_json = charge_json(w, &charge_id, false);
        emit(w, &account.id, "charge.refunded", charge_json, key.as_deref());
        Ok(Json(json))
    });
    tokio::time::sleep(latency).await;
    answer
}

pub(crate) fn charge_json(w: &World, id: &str, with_refunds: bool) -> Value {
    w.stripe.charges.get(id).map_or(Value::Null, |c: &Charge| {
        let refunds: Vec<Value> =
            c.refunds.iter().filter_map(|r| w.stripe.refunds.get(r)).map(Refund::to_json).collect();
        c.to_json(with_refunds.then_some(refunds.as_slice()))
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
            .refunds
            .owned_by(&id, &account.id)
            .map(|r| Json(r.to_json()))
            .ok_or_else(|| StripeError::no_such("refund", &id, "id"))
    })
}

/// `GET /v1/refunds?payment_intent=…&limit=…`: the account's refunds (of one
/// payment), newest first.
pub(crate) async fn list(State(shared): State<Arc<Shared>>, req: StripeRequest) -> Result<Json<Value>, StripeError> {
    req.params.reject_unknown(&["payment_intent", "charge", "limit"])?;
    let limit = req.params.integer("limit")?.unwrap_or(10);
    if !(1..=100).contains(&limit) {
        return Err(StripeError::invalid_request("parameter_invalid_integer", "Limit must be between 1 and 100.")
            .param("limit"));
    }
    let (intent, charge) = (req.params.get("payment_intent"), req.params.get("charge"));
    shared.read(|w| {
        let account = req.secret_account(w)?;
        let mut refunds: Vec<&Refund> = (w.stripe.refunds.values())
            .filter(|r| r.account_id == account.id)
            .filter(|r| intent.is_none_or(|pi| r.payment_intent == pi))
            .filter(|r| charge.is_none_or(|ch| r.charge == ch))
            .collect();
        refunds.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| b.id.cmp(&a.id)));
        let has_more = refunds.len() > usize::try_from(limit).unwrap_or(usize::MAX);
        let data: Vec<Value> =
            refunds.into_iter().take(usize::try_from(limit).unwrap_or(usize::MAX)).map(Refund::to_json).collect();
        Ok(Json(serde_json::json!({ "object": "list", "url": "/v1/refunds", "has_more": has_more, "data": data })))
    })
}

pub(crate) async fn retrieve_charge(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    req: StripeRequest,
) -> Result<Json<Value>, StripeError> {
    shared.read(|w| {
        let account = req.secret_account(w)?;
        if w.stripe.charges.owned_by(&id, &account.id).is_none() {
            return Err(StripeError::no_such("charge", &id, "id"));
        }
        // Listed when asked for, or always for a request in a version before they were not.
        let expand = req.params.list("expand").iter().any(|e| e == "refunds");
        let listed = expand || req.api_version() < super::events::REFUNDS_NOT_EXPANDED;
        Ok(Json(charge_json(w, &id, listed)))
    })
}
