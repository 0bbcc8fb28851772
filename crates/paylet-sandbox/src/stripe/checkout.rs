//! Checkout Sessions: the merchant creates one, the shopper pays on the
//! sandbox's hosted page at the session's `url`, and comes back to
//! `success_url` (with `{CHECKOUT_SESSION_ID}` filled in) once paid.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use serde::Deserialize;
use serde_json::Value;

use super::objects::{CheckoutSession, IntentStatus, LineItem, PaymentIntent, PaymentMethod};
use super::payment_intents::confirm_intent;
use super::tokens::validate_card;
use super::{StripeError, StripeRequest, base_url, emit};
use crate::cards::split_expiry;
use crate::ids::{new_id, now_unix, random_suffix};
use crate::owned::OwnedLookup;
use crate::pages::{amount, card_fields, escape, page};
use crate::state::{Shared, World};

const DAY: i64 = 86_400;

pub(crate) async fn create(State(shared): State<Arc<Shared>>, req: StripeRequest) -> Result<Json<Value>, StripeError> {
    let account = shared.read(|w| req.secret_account(w))?;
    let p = &req.params;
    p.reject_unknown(&[
        "mode",
        "line_items[",
        "amount",
        "currency",
        "success_url",
        "cancel_url",
        "client_reference_id",
        "customer_email",
        "metadata[",
        "payment_intent_data[metadata][",
        "payment_method_types[]",
        "expires_at",
    ])?;
    if p.require("mode")? != "payment" {
        return Err(StripeError::invalid_request(
            "parameter_invalid_string",
            "The sandbox supports mode=payment only.",
        )
        .param("mode"));
    }
    let success_url = p.require("success_url")?.to_owned();
    let (currency, line_items) = line_items(p)?;
    let total = line_items
        .iter()
        .try_fold(0i64, |sum, li| li.unit_amount.checked_mul(li.quantity).and_then(|t| sum.checked_add(t)))
        .filter(|t| *t >= 1)
        .ok_or_else(|| {
            StripeError::invalid_request("amount_too_small", "The total must be at least 1.").param("line_items")
        })?;
    let now = now_unix();
    let expires_at = p.integer("expires_at")?.unwrap_or(now + DAY);
    if expires_at <= now + 1800 - 60 || expires_at > now + DAY {
        return Err(
            StripeError::invalid("expires_at must be between 30 minutes and 24 hours from now.").param("expires_at")
        );
    }
    let id = format!("cs_test_{}", random_suffix(58));
    let session = CheckoutSession {
        url: format!("{}/hosted/checkout/{id}", req.base_url()),
        id,
        account_id: account.id,
        currency,
        line_items,
        amount_total: total,
        success_url,
        cancel_url: p.get("cancel_url").map(str::to_owned),
        client_reference_id: p.get("client_reference_id").map(str::to_owned),
        customer_email: p.get("customer_email").map(str::to_owned),
        metadata: p.map("metadata"),
        payment_intent_metadata: p.map("payment_intent_data[metadata]"),
        status: "open".into(),
        payment_intent: None,
        created: now,
        expires_at,
    };
    let json = session.to_json();
    shared.write(|w| w.stripe.checkout_sessions.insert(session.id.clone(), session));
    Ok(Json(json))
}

/// `line_items[i][price_data][…]` and `[quantity]`, or the sandbox's shorthand
/// `amount` + `currency` for a single line.
fn line_items(p: &super::Params) -> Result<(String, Vec<LineItem>), StripeError> {
    if let Some(total) = p.integer("amount")? {
        let currency = p.require("currency")?.to_ascii_lowercase();
        return Ok((currency, vec![LineItem { name: "Payment".into(), unit_amount: total, quantity: 1 }]));
    }
    let groups = p.groups("line_items")?;
    if groups.is_empty() {
        return Err(StripeError::missing_param("line_items"));
    }
    let mut currency: Option<String> = None;
    let mut items = Vec::with_capacity(groups.len());
    for (i, g) in groups.iter().enumerate() {
        // The parameter's full name for errors: `line_items[0][price_data][currency]`.
        let name = |k: &str| match k.split_once('[') {
            Some((first, rest)) => format!("line_items[{i}][{first}][{rest}"),
            None => format!("line_items[{i}][{k}]"),
        };
        for key in g.keys() {
            if !["quantity", "price_data[currency]", "price_data[unit_amount]", "price_data[product_data][name]"]
                .contains(&key.as_str())
            {
                return Err(StripeError::unknown_param(&name(key)));
            }
        }
        let get = |k: &str| g.get(k).map(String::as_str).ok_or_else(|| StripeError::missing_param(&name(k)));
        let int = |k: &str| {
            get(k)?.parse::<i64>().map_err(|_| StripeError::invalid_integer(&name(k), get(k).unwrap_or_default()))
        };
        let item_currency = get("price_data[currency]")?.to_ascii_lowercase();
        if currency.as_ref().is_some_and(|c| *c != item_currency) {
            return Err(
                StripeError::invalid("All line items must use the same currency.").param(&name("price_data[currency]"))
            );
        }
        currency = Some(item_currency);
        let quantity = int("quantity")?;
        let unit_amount = int("price_data[unit_amount]")?;
        if quantity < 1 || unit_amount < 0 {
            return Err(StripeError::invalid("Quantity must be at least 1 and unit_amount not negative.")
                .param(&name("quantity")));
        }
        items.push(LineItem { name: get("price_data[product_data][name]")?.to_owned(), unit_amount, quantity });
    }
    Ok((currency.unwrap_or_default(), items))
}

pub(crate) async fn retrieve(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    req: StripeRequest,
) -> Result<Json<Value>, StripeError> {
    shared.read(|w| {
        let account = req.secret_account(w)?;
        session(w, &id, &account.id).map(|s| Json(s.to_json()))
    })
}

pub(crate) async fn expire(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    req: StripeRequest,
) -> Result<Json<Value>, StripeError> {
    let account = shared.read(|w| req.secret_account(w))?;
    shared.write(|w| {
        let s = session(w, &id, &account.id)?;
        if s.status != "open" {
            return Err(StripeError::invalid(format!("Only Checkout Sessions with a status of open can be expired. This Checkout Session has a status of {}.", s.status)));
        }
        let s = w.stripe.checkout_sessions.get_mut(&id).ok_or_else(|| StripeError::no_such("checkout.session", &id, "session"))?;
        s.status = "expired".into();
        let json = s.to_json();
        emit(w, &account.id, "checkout.session.expired", json.clone(), None);
        Ok(Json(json))
    })
}

fn session<'w>(w: &'w World, id: &str, account_id: &str) -> Result<&'w CheckoutSession, StripeError> {
    w.stripe
        .checkout_sessions
        .owned_by(id, account_id)
        .ok_or_else(|| StripeError::no_such("checkout.session", id, "session"))
}

/// The hosted payment page.
pub(crate) async fn show(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    render(&shared, &id, None)
}

fn render(shared: &Shared, id: &str, error: Option<&str>) -> Response {
    let Some(s) = shared.read(|w| w.stripe.checkout_sessions.get(id).cloned()) else {
        return (StatusCode::NOT_FOUND, page("Not found", "<p>No such checkout.</p>")).into_response();
    };
    if s.status != "open" || s.expires_at < now_unix() {
        return page("Checkout closed", &format!("<p>This checkout is {}.</p>", escape(&s.status))).into_response();
    }
    let rows: String = s
        .line_items
        .iter()
        .map(|li| {
            format!(
                "<tr><td>{} × {}</td><td class=\"amount\">{}</td></tr>",
                escape(&li.name),
                li.quantity,
                amount(li.unit_amount * li.quantity, &s.currency)
            )
        })
        .collect();
    let cancel = s
        .cancel_url
        .as_ref()
        .map(|u| format!("<p><a href=\"{}\">Cancel and return</a></p>", escape(u)))
        .unwrap_or_default();
    page(
        "Pay",
        &format!(
            "<table>{rows}<tr><th>Total</th><th class=\"amount\">{total}</th></tr></table>\
             <form method=\"post\">{fields}<button type=\"submit\">Pay {total}</button></form>{cancel}",
            total = amount(s.amount_total, &s.currency),
            fields = card_fields(error, s.customer_email.as_deref()),
        ),
    )
    .into_response()
}

#[derive(Deserialize)]
pub(crate) struct PayForm {
    #[serde(default)]
    email: String,
    number: String,
    expiry: String,
    #[serde(default)]
    cvc: String,
}

pub(crate) async fn submit(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<PayForm>,
) -> Response {
    let number: String = form.number.chars().filter(char::is_ascii_digit).collect();
    let (month, year) = split_expiry(&form.expiry);
    let cvc = Some(form.cvc.trim()).filter(|c| !c.is_empty());
    let card = match validate_card(&number, &month, &year, cvc) {
        Ok(card) => card,
        Err(e) => return render(&shared, &id, Some(&e.message())),
    };
    let return_url = format!("{}/hosted/checkout/{id}/return", base_url(&headers));
    let base = base_url(&headers);
    let result = shared.write(|w| {
        let s = w.stripe.checkout_sessions.get(&id).filter(|s| s.status == "open").cloned()?;
        let pm = PaymentMethod {
            id: new_id("pm"),
            account_id: s.account_id.clone(),
            card,
            postal_code: None,
            created: now_unix(),
        };
        let mut pi = PaymentIntent::new(&s.account_id, s.amount_total, &s.currency, now_unix());
        pi.metadata = s.payment_intent_metadata.clone();
        pi.payment_method = Some(pm.id.clone());
        pi.status = IntentStatus::RequiresConfirmation;
        let pi_id = pi.id.clone();
        w.stripe.payment_methods.insert(pm.id.clone(), pm);
        w.stripe.payment_intents.insert(pi_id.clone(), pi);
        if let Some(session) = w.stripe.checkout_sessions.get_mut(&id) {
            session.payment_intent = Some(pi_id.clone());
            if !form.email.trim().is_empty() {
                session.customer_email = Some(form.email.trim().to_owned());
            }
        }
        Some(confirm_intent(w, &pi_id, Some(&return_url), false, &base, None).map(|pi| (pi, s)))
    });
    match result {
        None => render(&shared, &id, None),
        Some(Err(decline)) => render(&shared, &id, Some(&decline.message())),
        Some(Ok((pi, s))) => finish(&shared, &s, &pi),
    }
}

/// After the intent was confirmed: on to 3-D Secure, to the merchant, or back
/// to the form.
fn finish(shared: &Shared, s: &CheckoutSession, pi: &Value) -> Response {
    match pi["status"].as_str() {
        Some("succeeded") => {
            shared.write(|w| complete(w, &s.id));
            Redirect::to(&s.success_url.replace("{CHECKOUT_SESSION_ID}", &s.id)).into_response()
        }
        Some("requires_action") => match pi["next_action"]["redirect_to_url"]["url"].as_str() {
            Some(url) => Redirect::to(url).into_response(),
            None => render(shared, &s.id, Some("Authentication could not start.")),
        },
        _ => render(shared, &s.id, Some("Authentication failed. Please try another card.")),
    }
}

/// Where the 3-D Secure page returns the shopper.
pub(crate) async fn after_challenge(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    let found = shared.read(|w| {
        let s = w.stripe.checkout_sessions.get(&id).cloned()?;
        let pi = s.payment_intent.as_ref().and_then(|p| w.stripe.payment_intents.get(p)).map(PaymentIntent::to_json)?;
        Some((s, pi))
    });
    match found {
        Some((s, pi)) if s.status == "open" => finish(&shared, &s, &pi),
        _ => render(&shared, &id, None),
    }
}

fn complete(w: &mut World, id: &str) {
    let Some(s) = w.stripe.checkout_sessions.get_mut(id).filter(|s| s.status == "open") else { return };
    s.status = "complete".into();
    let (account_id, json) = (s.account_id.clone(), s.to_json());
    emit(w, &account_id, "checkout.session.completed", json, None);
}
