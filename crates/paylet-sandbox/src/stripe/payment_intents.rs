//! PaymentIntents: create (optionally confirming at once), retrieve, confirm,
//! cancel; and the charge itself, shared with hosted checkout and 3-D Secure.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};

use super::objects::{Charge, IntentStatus, PaymentIntent, PaymentMethod};
use super::{Params, StripeError, StripeRequest, emit};
use crate::cards::{Decline, Outcome};
use crate::ids::{new_id, now_unix};
use crate::owned::OwnedLookup;
use crate::state::{Shared, World};

const PAYMENT_METHOD_PARAMS: [&str; 3] =
    ["payment_method", "payment_method_data[type]", "payment_method_data[card][token]"];

pub(crate) async fn create(State(shared): State<Arc<Shared>>, req: StripeRequest) -> Result<Json<Value>, StripeError> {
    let account = shared.read(|w| req.secret_account(w))?;
    let mut allowed = PAYMENT_METHOD_PARAMS.to_vec();
    allowed.extend([
        "amount",
        "currency",
        "payment_method_types[]",
        "confirm",
        "return_url",
        "description",
        "metadata[",
        "capture_method",
        "use_stripe_sdk",
    ]);
    let p = &req.params;
    p.reject_unknown(&allowed)?;
    let amount = p.integer("amount")?.ok_or_else(|| StripeError::missing_param("amount"))?;
    if amount < 1 {
        return Err(StripeError::invalid_request("amount_too_small", "Amount must be at least 1.").param("amount"));
    }
    if amount > 99_999_999 {
        return Err(
            StripeError::invalid_request("amount_too_large", "Amount must be no more than 99999999.").param("amount")
        );
    }
    let currency = p.require("currency")?.to_ascii_lowercase();
    if paylet_api::Currency::parse(&currency).is_err() {
        return Err(StripeError::invalid_request("parameter_invalid_string", format!("Invalid currency: {currency}."))
            .param("currency"));
    }
    if p.get("capture_method").is_some_and(|m| m != "automatic") {
        return Err(StripeError::invalid_request("parameter_invalid_string", "The sandbox captures automatically.")
            .param("capture_method"));
    }
    let confirm = p.boolean("confirm")?.unwrap_or(false);
    if p.get("return_url").is_some() && !confirm {
        return Err(StripeError::invalid("You can only pass return_url when confirm is true.").param("return_url"));
    }

    let fault = if confirm { shared.write(|w| w.charge_fault(&account.id)) } else { Default::default() };
    if let Some(failure) = fault.fail {
        return Err(StripeError::injected(failure));
    }
    let key = req.idempotency_key();
    let result = shared.write(|w| {
        let mut intent = PaymentIntent::new(&account.id, amount, &currency, now_unix());
        intent.metadata = p.map("metadata");
        intent.description = p.get("description").map(str::to_owned);
        intent.payment_method = resolve_payment_method(w, &account.id, p)?;
        if intent.payment_method.is_some() {
            intent.status = IntentStatus::RequiresConfirmation;
        }
        let id = intent.id.clone();
        w.stripe.payment_intents.insert(id.clone(), intent);
        if confirm {
            let sdk = p.boolean("use_stripe_sdk")?.unwrap_or(false);
            confirm_intent(w, &id, p.get("return_url"), sdk, &req.base_url(), key.as_deref())
        } else {
            Ok(intent_json(w, &id))
        }
    });
    fault.delay().await;
    result.map(Json)
}

pub(crate) async fn retrieve(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    req: StripeRequest,
) -> Result<Json<Value>, StripeError> {
    shared.read(|w| {
        let account = req.secret_account(w)?;
        w.stripe
            .payment_intents
            .owned_by(&id, &account.id)
            .map(|pi| Json(pi.to_json()))
            .ok_or_else(|| StripeError::no_such("payment_intent", &id, "intent"))
    })
}

pub(crate) async fn confirm(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    req: StripeRequest,
) -> Result<Json<Value>, StripeError> {
    let account = shared.read(|w| req.secret_account(w))?;
    let mut allowed = PAYMENT_METHOD_PARAMS.to_vec();
    allowed.extend(["return_url", "use_stripe_sdk"]);
    req.params.reject_unknown(&allowed)?;
    let sdk = req.params.boolean("use_stripe_sdk")?.unwrap_or(false);
    let fault = shared.write(|w| w.charge_fault(&account.id));
    if let Some(failure) = fault.fail {
        return Err(StripeError::injected(failure));
    }
    let key = req.idempotency_key();
    let result = shared.write(|w| {
        let status = w
            .stripe
            .payment_intents
            .owned_by(&id, &account.id)
            .map(|pi| pi.status)
            .ok_or_else(|| StripeError::no_such("payment_intent", &id, "intent"))?;
        match status {
            IntentStatus::Succeeded => {
                return Err(StripeError::unexpected_state(
                    "You cannot confirm this PaymentIntent because it has already succeeded after being previously confirmed.",
                ));
            }
            IntentStatus::Canceled => {
                return Err(StripeError::unexpected_state(
                    "You cannot confirm this PaymentIntent because it has a status of canceled.",
                ));
            }
            _ => {}
        }
        if let Some(pm) = resolve_payment_method(w, &account.id, &req.params)?
            && let Some(pi) = w.stripe.payment_intents.get_mut(&id)
        {
            pi.payment_method = Some(pm);
        }
        confirm_intent(w, &id, req.params.get("return_url"), sdk, &req.base_url(), key.as_deref())
    });
    fault.delay().await;
    result.map(Json)
}

pub(crate) async fn cancel(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    req: StripeRequest,
) -> Result<Json<Value>, StripeError> {
    let account = shared.read(|w| req.secret_account(w))?;
    req.params.reject_unknown(&["cancellation_reason"])?;
    let reason = req.params.get("cancellation_reason").map(str::to_owned);
    if reason
        .as_deref()
        .is_some_and(|r| !["duplicate", "fraudulent", "requested_by_customer", "abandoned"].contains(&r))
    {
        return Err(StripeError::invalid_request("parameter_invalid_string", "Invalid cancellation_reason.")
            .param("cancellation_reason"));
    }
    let key = req.idempotency_key();
    shared.write(|w| {
        let pi = w
            .stripe
            .payment_intents
            .owned_by_mut(&id, &account.id)
            .ok_or_else(|| StripeError::no_such("payment_intent", &id, "intent"))?;
        if matches!(pi.status, IntentStatus::Succeeded | IntentStatus::Canceled) {
            return Err(StripeError::unexpected_state(format!(
                "You cannot cancel this PaymentIntent because it has a status of {}. Only a PaymentIntent with one of \
                 the following statuses may be canceled: requires_payment_method, requires_capture, \
                 requires_reauthorization, requires_confirmation, requires_action, processing.",
                pi.status.as_str()
            )));
        }
        pi.status = IntentStatus::Canceled;
        pi.canceled_at = Some(now_unix());
        pi.cancellation_reason = reason;
        pi.next_action = None;
        let json = pi.to_json();
        emit(w, &account.id, "payment_intent.canceled", json.clone(), key.as_deref());
        Ok(Json(json))
    })
}

/// `payment_method=pm_…`, or a single-use token through
/// `payment_method_data[card][token]=tok_…` (which becomes a new PaymentMethod).
fn resolve_payment_method(w: &mut World, account_id: &str, params: &Params) -> Result<Option<String>, StripeError> {
    if let Some(pm) = params.get("payment_method") {
        return match w.stripe.payment_methods.get(pm) {
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
    let token = w
        .stripe
        .tokens
        .owned_by_mut(token_id, account_id)
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
        postal_code: token.address_zip.clone(),
        created: now_unix(),
    };
    let id = pm.id.clone();
    w.stripe.payment_methods.insert(id.clone(), pm);
    Ok(Some(id))
}

fn intent_json(w: &World, id: &str) -> Value {
    w.stripe.payment_intents.get(id).map(PaymentIntent::to_json).unwrap_or(Value::Null)
}

/// Charges the intent's payment method and moves the intent on: `succeeded`,
/// `requires_action` (3-D Secure cards), or a 402 decline carrying the intent,
/// as Stripe answers. Raises the matching events. `use_stripe_sdk`: the
/// caller's Stripe.js takes the next action, so it is a `use_stripe_sdk` one.
pub(crate) fn confirm_intent(
    w: &mut World,
    id: &str,
    return_url: Option<&str>,
    use_stripe_sdk: bool,
    base_url: &str,
    idempotency_key: Option<&str>,
) -> Result<Value, StripeError> {
    let Some(pi) = w.stripe.payment_intents.get(id) else {
        return Err(StripeError::no_such("payment_intent", id, "intent"));
    };
    let Some(pm) = pi.payment_method.as_ref().and_then(|pm| w.stripe.payment_methods.get(pm)).cloned() else {
        return Err(StripeError::unexpected_state(
            "You cannot confirm this PaymentIntent because it's missing a payment method. To confirm this \
             PaymentIntent with a payment method, pass a payment_method.",
        ));
    };
    let account_id = pi.account_id.clone();
    match pm.card.outcome {
        Outcome::Succeed => Ok(succeed(w, id, idempotency_key)),
        Outcome::RequireAuthentication => {
            let url = format!("{base_url}/hosted/3ds/{id}");
            let redirect = if use_stripe_sdk || w.action_without_redirect(&account_id) { None } else { return_url };
            let next_action = match redirect {
                Some(return_url) => {
                    json!({ "type": "redirect_to_url", "redirect_to_url": { "url": url, "return_url": return_url } })
                }
                None => {
                    json!({ "type": "use_stripe_sdk", "use_stripe_sdk": { "type": "three_d_secure_redirect", "stripe_js": url } })
                }
            };
            let json = update(w, id, |pi| {
                pi.status = IntentStatus::RequiresAction;
                pi.next_action = Some(next_action);
                pi.return_url = return_url.map(str::to_owned);
            });
            emit(w, &account_id, "payment_intent.requires_action", json.clone(), idempotency_key);
            Ok(json)
        }
        Outcome::Decline(decline) => {
            let (code, decline_code, message) = decline_error(decline);
            let error = json!({
                "type": "card_error", "code": code, "decline_code": decline_code, "message": message,
                "doc_url": format!("https://stripe.com/docs/error-codes/{}", code.replace('_', "-")),
                "payment_method": pm.to_json(),
            });
            let json = fail(w, id, error, idempotency_key);
            let error = StripeError::decline(code, decline_code, message, json);
            Err(match code {
                "expired_card" => error.param("exp_month"),
                "incorrect_cvc" => error.param("cvc"),
                _ => error,
            })
        }
    }
}

fn update(w: &mut World, id: &str, change: impl FnOnce(&mut PaymentIntent)) -> Value {
    match w.stripe.payment_intents.get_mut(id) {
        Some(pi) => {
            change(pi);
            pi.to_json()
        }
        None => Value::Null,
    }
}

/// The intent succeeds: a charge is made and `payment_intent.succeeded` raised.
pub(crate) fn succeed(w: &mut World, id: &str, idempotency_key: Option<&str>) -> Value {
    let Some(pi) = w.stripe.payment_intents.get(id).cloned() else { return Value::Null };
    let Some(pm) = pi.payment_method.as_ref().and_then(|pm| w.stripe.payment_methods.get(pm)).cloned() else {
        return Value::Null;
    };
    let charge = Charge {
        id: new_id("ch"),
        account_id: pi.account_id.clone(),
        amount: pi.amount,
        amount_refunded: 0,
        currency: pi.currency.clone(),
        payment_intent: pi.id.clone(),
        payment_method: pm.id.clone(),
        card: pm.card,
        created: now_unix(),
        refunds: Vec::new(),
    };
    let charge_id = charge.id.clone();
    w.stripe.charges.insert(charge_id.clone(), charge);
    let json = update(w, id, |pi| {
        pi.status = IntentStatus::Succeeded;
        pi.latest_charge = Some(charge_id);
        pi.last_payment_error = None;
        pi.next_action = None;
    });
    emit(w, &pi.account_id, "payment_intent.succeeded", json.clone(), idempotency_key);
    json
}

/// The attempt failed: the intent wants a new payment method, and
/// `payment_intent.payment_failed` is raised.
pub(crate) fn fail(w: &mut World, id: &str, error: Value, idempotency_key: Option<&str>) -> Value {
    let json = update(w, id, |pi| {
        pi.status = IntentStatus::RequiresPaymentMethod;
        pi.payment_method = None;
        pi.next_action = None;
        pi.last_payment_error = Some(error);
    });
    let account_id =
        json["id"].as_str().and_then(|id| w.stripe.payment_intents.get(id)).map(|pi| pi.account_id.clone());
    if let Some(account_id) = account_id {
        emit(w, &account_id, "payment_intent.payment_failed", json.clone(), idempotency_key);
    }
    json
}

/// Stripe's code, decline code and message for each test-card decline.
fn decline_error(decline: Decline) -> (&'static str, Option<&'static str>, &'static str) {
    match decline {
        Decline::Generic => ("card_declined", Some("generic_decline"), "Your card was declined."),
        Decline::InsufficientFunds => {
            ("card_declined", Some("insufficient_funds"), "Your card has insufficient funds.")
        }
        Decline::LostCard => ("card_declined", Some("lost_card"), "Your card was declined."),
        Decline::StolenCard => ("card_declined", Some("stolen_card"), "Your card was declined."),
        Decline::ExpiredCard => ("expired_card", None, "Your card has expired."),
        Decline::IncorrectCvc => ("incorrect_cvc", None, "Your card's security code is incorrect."),
        Decline::ProcessingError => {
            ("processing_error", None, "An error occurred while processing your card. Try again in a little bit.")
        }
        Decline::PostalCode => ("incorrect_zip", None, "Your card's zip code failed validation."),
        Decline::InvalidExpiration => ("expired_card", None, "Your card has expired."),
    }
}
