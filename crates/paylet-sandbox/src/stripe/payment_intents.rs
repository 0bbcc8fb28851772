//! PaymentIntents: create (optionally confirming at once) and retrieve.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use serde_json::{Value, json};

use super::{Params, StripeError, authenticate_secret};
use crate::cards::{Decline, Outcome, StoredCard};
use crate::ids::{new_id, now_unix, random_suffix};
use crate::state::{Shared, lock};
use crate::stripe::objects::{IntentStatus, PaymentIntent, PaymentMethod, StripeObjects};

const CREATE_PARAMS: [&str; 11] = [
    "amount",
    "currency",
    "payment_method",
    "payment_method_data[type]",
    "payment_method_data[card][token]",
    "payment_method_types[]",
    "confirm",
    "return_url",
    "description",
    "metadata[",
    "capture_method",
];

pub(crate) async fn create(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, StripeError> {
    let params = Params::parse(&body)?;
    let account = authenticate_secret(&shared, &headers, &params)?;
    params.reject_unknown(&CREATE_PARAMS)?;

    let amount = params.integer("amount")?.ok_or_else(|| StripeError::missing_param("amount"))?;
    if amount < 1 {
        return Err(StripeError::invalid_request("amount_too_small", "Amount must be at least 1.").param("amount"));
    }
    let currency = params.require("currency")?.to_ascii_lowercase();
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_lowercase()) {
        return Err(StripeError::invalid_request("parameter_invalid_string", format!("Invalid currency: {currency}"))
            .param("currency"));
    }
    if params.get("capture_method").is_some_and(|m| m != "automatic") {
        return Err(StripeError::invalid_request("parameter_invalid_string", "The sandbox captures automatically.")
            .param("capture_method"));
    }
    let confirm = params.boolean("confirm")?.unwrap_or(false);

    let mut objects = lock(&shared.stripe);
    let payment_method = resolve_payment_method(&mut objects, &account.id, &params)?;
    let mut intent = PaymentIntent {
        id: new_id("pi"),
        account_id: account.id,
        amount,
        currency,
        status: if payment_method.is_some() {
            IntentStatus::RequiresConfirmation
        } else {
            IntentStatus::RequiresPaymentMethod
        },
        client_secret: String::new(),
        payment_method,
        metadata: params.map("metadata"),
        description: params.get("description").map(str::to_owned),
        created: now_unix(),
        latest_charge: None,
        last_payment_error: None,
        next_action: None,
    };
    intent.client_secret = format!("{}_secret_{}", intent.id, random_suffix(24));

    let result = if confirm {
        confirm_intent(&objects, &mut intent, params.get("return_url"), &sandbox_base(&headers))
    } else {
        Ok(())
    };
    let json = intent.to_json();
    objects.payment_intents.insert(intent.id.clone(), intent);
    result.map(|()| Json(json))
}

pub(crate) async fn retrieve(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, StripeError> {
    let account = authenticate_secret(&shared, &headers, &Params::default())?;
    let objects = lock(&shared.stripe);
    objects
        .payment_intents
        .get(&id)
        .filter(|pi| pi.account_id == account.id)
        .map(|pi| Json(pi.to_json()))
        .ok_or_else(|| StripeError::no_such("payment_intent", &id, "intent"))
}

/// `payment_method=pm_…`, or a single-use token through
/// `payment_method_data[card][token]=tok_…` (which becomes a new PaymentMethod).
fn resolve_payment_method(
    objects: &mut StripeObjects,
    account_id: &str,
    params: &Params,
) -> Result<Option<String>, StripeError> {
    if let Some(pm) = params.get("payment_method") {
        return match objects.payment_methods.get(pm) {
            Some(found) if found.account_id == account_id => Ok(Some(pm.to_owned())),
            _ => Err(StripeError::no_such("PaymentMethod", pm, "payment_method")),
        };
    }
    let Some(token_id) = params.get("payment_method_data[card][token]") else {
        return Ok(None);
    };
    if params.get("payment_method_data[type]") != Some("card") {
        return Err(StripeError::missing_param("payment_method_data[type]"));
    }
    let token = objects
        .tokens
        .get_mut(token_id)
        .filter(|t| t.account_id == account_id)
        .ok_or_else(|| StripeError::no_such("token", token_id, "payment_method_data[card][token]"))?;
    if token.used {
        return Err(StripeError::invalid_request(
            "token_already_used",
            format!("You cannot use a Stripe token more than once: {token_id}."),
        )
        .param("payment_method_data[card][token]"));
    }
    token.used = true;
    let pm = PaymentMethod {
        id: new_id("pm"),
        account_id: account_id.to_owned(),
        card: token.card.clone(),
        created: now_unix(),
    };
    let id = pm.id.clone();
    objects.payment_methods.insert(id.clone(), pm);
    Ok(Some(id))
}

/// Charges the intent's payment method and moves the intent to its next status.
/// A decline is returned as Stripe returns it: a 402 `card_error` that carries
/// the updated intent.
fn confirm_intent(
    objects: &StripeObjects,
    intent: &mut PaymentIntent,
    return_url: Option<&str>,
    sandbox_base: &str,
) -> Result<(), StripeError> {
    let card: &StoredCard = match intent.payment_method.as_ref().and_then(|pm| objects.payment_methods.get(pm)) {
        Some(pm) => &pm.card,
        None => {
            return Err(StripeError::invalid_request(
                "payment_intent_unexpected_state",
                "You cannot confirm this PaymentIntent because it's missing a payment method.",
            ));
        }
    };
    match card.outcome {
        Outcome::Succeed => {
            intent.status = IntentStatus::Succeeded;
            intent.latest_charge = Some(new_id("ch"));
            intent.last_payment_error = None;
            intent.next_action = None;
            Ok(())
        }
        Outcome::RequireAuthentication => {
            intent.status = IntentStatus::RequiresAction;
            intent.next_action = Some(json!({
                "type": "redirect_to_url",
                "redirect_to_url": {
                    "url": format!("{sandbox_base}/_sandbox/3ds/{}", intent.id),
                    "return_url": return_url,
                },
            }));
            Ok(())
        }
        Outcome::Decline(decline) => {
            let error = decline_error(decline);
            intent.status = IntentStatus::RequiresPaymentMethod;
            intent.last_payment_error = Some(json!({
                "type": "card_error",
                "code": error.code,
                "decline_code": error.decline_code,
                "message": error.message,
                "payment_method": intent.payment_method,
            }));
            Err(StripeError::card(error.code, error.message)
                .decline_code(error.decline_code)
                .payment_intent(intent.to_json()))
        }
    }
}

struct DeclineError {
    code: &'static str,
    decline_code: &'static str,
    message: &'static str,
}

/// Stripe's codes and messages for each test-card decline.
fn decline_error(decline: Decline) -> DeclineError {
    let (code, decline_code, message) = match decline {
        Decline::Generic => ("card_declined", "generic_decline", "Your card was declined."),
        Decline::InsufficientFunds => ("card_declined", "insufficient_funds", "Your card has insufficient funds."),
        Decline::LostCard => ("card_declined", "lost_card", "Your card was declined."),
        Decline::StolenCard => ("card_declined", "stolen_card", "Your card was declined."),
        Decline::ExpiredCard => ("expired_card", "expired_card", "Your card has expired."),
        Decline::IncorrectCvc => ("incorrect_cvc", "incorrect_cvc", "Your card's security code is incorrect."),
        Decline::ProcessingError => (
            "processing_error",
            "processing_error",
            "An error occurred while processing your card. Try again in a little bit.",
        ),
    };
    DeclineError { code, decline_code, message }
}

/// The sandbox's own base URL as the caller reached it, for links it hands out.
fn sandbox_base(headers: &HeaderMap) -> String {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1:12111");
    format!("http://{host}")
}
