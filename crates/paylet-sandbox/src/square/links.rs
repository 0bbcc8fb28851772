//! Payment links (Square's hosted checkout): the merchant creates one for an
//! order, the shopper pays on the sandbox's page at `url`, and goes on to the
//! link's `redirect_url`. The order moves from `DRAFT` to `OPEN` once paid, and
//! the payment carries its `order_id`.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use serde::Deserialize;
use serde_json::{Value, json};

use super::objects::{Nonce, Order, OrderLine, PaymentLink};
use super::payments::{Charge, MoneyIn, check_money, take_nonce};
use super::{SquareError, SquareRequest, authenticate, base_url};
use crate::cards::{Outcome, check_card, split_expiry};
use crate::ids::{now_ms, random_suffix};
use crate::owned::OwnedLookup;
use crate::pages::{amount, card_fields, escape, page};
use crate::state::Shared;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreatePaymentLink {
    #[serde(default)]
    idempotency_key: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    quick_pay: Option<QuickPay>,
    #[serde(default)]
    order: Option<OrderIn>,
    #[serde(default)]
    checkout_options: Option<CheckoutOptions>,
    #[serde(default)]
    pre_populated_data: Option<PrePopulated>,
    #[serde(default)]
    payment_note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct QuickPay {
    name: String,
    price_money: MoneyIn,
    location_id: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OrderIn {
    location_id: String,
    #[serde(default)]
    reference_id: Option<String>,
    line_items: Vec<LineIn>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LineIn {
    name: String,
    /// A decimal string, as in Square's Order object.
    quantity: String,
    base_price_money: MoneyIn,
}

/// Other checkout options (tipping, shipping, …) are accepted and ignored.
#[derive(Deserialize)]
struct CheckoutOptions {
    #[serde(default)]
    redirect_url: Option<String>,
}

#[derive(Deserialize)]
struct PrePopulated {
    #[serde(default)]
    buyer_email: Option<String>,
}

pub(crate) async fn create(
    State(shared): State<Arc<Shared>>,
    req: SquareRequest<CreatePaymentLink>,
) -> Result<Json<Value>, SquareError> {
    let account = shared.read(|w| authenticate(&req.headers, w))?;
    let b = req.body;
    if b.idempotency_key.as_ref().is_some_and(|k| k.len() > 192) {
        return Err(SquareError::invalid("VALUE_TOO_LONG", "Field must not be greater than 192 length")
            .field("idempotency_key"));
    }
    let (location_id, reference_id, currency, lines) = match (b.quick_pay, b.order) {
        (Some(q), None) => {
            let currency = check_money(&q.price_money, "quick_pay.price_money")?;
            let line =
                OrderLine { uid: random_suffix(21), name: q.name, quantity: 1, unit_amount: q.price_money.amount };
            (q.location_id, None, currency, vec![line])
        }
        (None, Some(o)) => {
            if o.line_items.is_empty() {
                return Err(SquareError::invalid("MISSING_REQUIRED_PARAMETER", "An order needs line items.")
                    .field("order.line_items"));
            }
            let mut currency = None;
            let mut lines = Vec::new();
            for (i, l) in o.line_items.into_iter().enumerate() {
                let c = check_money(&l.base_price_money, &format!("order.line_items[{i}].base_price_money"))?;
                if currency.as_ref().is_some_and(|cur| *cur != c) {
                    return Err(SquareError::invalid("CURRENCY_MISMATCH", "All line items must use one currency."));
                }
                currency = Some(c);
                let quantity: i64 = l.quantity.parse().ok().filter(|q| *q >= 1).ok_or_else(|| {
                    SquareError::invalid("INVALID_VALUE", "Quantity must be a whole number of at least 1.")
                        .field(format!("order.line_items[{i}].quantity"))
                })?;
                lines.push(OrderLine {
                    uid: random_suffix(21),
                    name: l.name,
                    quantity,
                    unit_amount: l.base_price_money.amount,
                });
            }
            (o.location_id, o.reference_id, currency.unwrap_or_default(), lines)
        }
        _ => return Err(SquareError::invalid("CONFLICTING_PARAMETERS", "Provide exactly one of quick_pay or order.")),
    };
    if location_id != account.location_id {
        return Err(
            SquareError::invalid("INVALID_LOCATION", "Location does not belong to this merchant.").field("location_id")
        );
    }
    let now = now_ms();
    let order = Order {
        id: random_suffix(29),
        account_id: account.id.clone(),
        location_id,
        reference_id,
        currency,
        lines,
        state: "DRAFT".into(),
        payment_id: None,
        created_ms: now,
        updated_ms: now,
        version: 1,
    };
    let id = random_suffix(16).to_uppercase();
    let link = PaymentLink {
        url: format!("{}/hosted/square/link/{id}", base_url(&req.headers)),
        id,
        account_id: account.id,
        order_id: order.id.clone(),
        redirect_url: b.checkout_options.and_then(|c| c.redirect_url),
        description: b.description,
        payment_note: b.payment_note,
        buyer_email: b.pre_populated_data.and_then(|p| p.buyer_email),
        created_ms: now,
    };
    let json = json!({ "payment_link": link.to_json(), "related_resources": { "orders": [order.to_json()] } });
    shared.write(|w| {
        w.square.orders.insert(order.id.clone(), order);
        w.square.payment_links.insert(link.id.clone(), link);
    });
    Ok(Json(json))
}

pub(crate) async fn retrieve(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, SquareError> {
    shared.read(|w| {
        let account = authenticate(&headers, w)?;
        w.square
            .payment_links
            .owned_by(&id, &account.id)
            .map(|l| Json(json!({ "payment_link": l.to_json() })))
            .ok_or_else(|| SquareError::not_found("payment link", &id))
    })
}

/// Deletes the link and cancels its order, so the page takes no payment;
/// a link whose order is paid stays (the payment is the merchant's to refund).
pub(crate) async fn delete(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, SquareError> {
    shared.write(|w| {
        let account = authenticate(&headers, w)?;
        let link = w.square.payment_links.owned_by(&id, &account.id).cloned();
        let link = link.ok_or_else(|| SquareError::not_found("payment link", &id))?;
        let order = w.square.orders.get_mut(&link.order_id).ok_or_else(|| SquareError::not_found("order", &id))?;
        if order.state != "DRAFT" {
            return Err(SquareError::invalid("BAD_REQUEST", "The payment link's order is already paid."));
        }
        order.state = "CANCELED".into();
        order.updated_ms = now_ms();
        order.version += 1;
        w.square.payment_links.remove(&id);
        Ok(Json(json!({ "id": id, "cancelled_order_id": link.order_id })))
    })
}

pub(crate) async fn retrieve_order(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, SquareError> {
    shared.read(|w| {
        let account = authenticate(&headers, w)?;
        w.square
            .orders
            .owned_by(&id, &account.id)
            .map(|o| Json(json!({ "order": o.to_json() })))
            .ok_or_else(|| SquareError::not_found("order", &id))
    })
}

/// The hosted payment page.
pub(crate) async fn show(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    render(&shared, &id, None)
}

fn render(shared: &Shared, id: &str, error: Option<&str>) -> Response {
    let found = shared.read(|w| {
        let link = w.square.payment_links.get(id).cloned()?;
        let order = w.square.orders.get(&link.order_id).cloned()?;
        Some((link, order))
    });
    let Some((link, order)) = found else {
        return (StatusCode::NOT_FOUND, page("Not found", "<p>No such payment link.</p>")).into_response();
    };
    if order.state != "DRAFT" {
        return page("Already paid", "<p>This order has already been paid.</p>").into_response();
    }
    let rows: String = order
        .lines
        .iter()
        .map(|l| {
            format!(
                "<tr><td>{} × {}</td><td class=\"amount\">{}</td></tr>",
                escape(&l.name),
                l.quantity,
                amount(l.unit_amount * l.quantity, &order.currency)
            )
        })
        .collect();
    let total = amount(order.total(), &order.currency);
    page(
        "Pay",
        &format!(
            "<table>{rows}<tr><th>Total</th><th class=\"amount\">{total}</th></tr></table>\
             <form method=\"post\">{}<label for=\"postal\">Postal code</label><input id=\"postal\" name=\"postal_code\" autocomplete=\"postal-code\">\
             <button type=\"submit\">Pay {total}</button></form>",
            card_fields(error, link.buyer_email.as_deref())
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
    #[serde(default)]
    postal_code: String,
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
    let card = match check_card(&number, &month, &year, cvc) {
        Ok(card) => card,
        Err(problem) => return render(&shared, &id, Some(SquareError::card(problem).detail())),
    };
    let Some(account_id) = shared.read(|w| w.square.payment_links.get(&id).map(|l| l.account_id.clone())) else {
        return render(&shared, &id, None);
    };
    let needs_verification = card.outcome == Outcome::RequireAuthentication;
    let nonce = Nonce {
        id: format!("cnon:{}", random_suffix(28)),
        account_id,
        card,
        postal_code: Some(form.postal_code).filter(|p| !p.is_empty()),
        used: false,
    };
    let nonce_id = nonce.id.clone();
    shared.write(|w| w.square.nonces.insert(nonce_id.clone(), nonce));
    if needs_verification {
        let back = format!("{}/hosted/square/link/{id}/verified", base_url(&headers));
        return Redirect::to(&format!("/hosted/square/verify/{nonce_id}?return_url={}", encode(&back))).into_response();
    }
    pay(&shared, &id, &nonce_id, None, Some(form.email).filter(|e| !e.trim().is_empty()))
}

#[derive(Deserialize)]
pub(crate) struct Verified {
    nonce: Option<String>,
    verification_token: Option<String>,
}

/// Where the verification page returns the shopper.
pub(crate) async fn after_verification(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    Query(q): Query<Verified>,
) -> Response {
    match (q.nonce, q.verification_token) {
        (Some(nonce), Some(token)) => pay(&shared, &id, &nonce, Some(&token), None),
        _ => render(&shared, &id, Some("Your bank could not verify this payment. Please try another card.")),
    }
}

fn pay(shared: &Shared, link_id: &str, nonce: &str, verification: Option<&str>, email: Option<String>) -> Response {
    let result = shared.write(|w| {
        let link = w.square.payment_links.get(link_id).cloned()?;
        let order = w.square.orders.get(&link.order_id).filter(|o| o.state == "DRAFT").cloned()?;
        let account = w.accounts.get(&link.account_id).cloned()?;
        let charged = take_nonce(w, &account, nonce, verification).and_then(|n| {
            Charge {
                amount: order.total(),
                currency: order.currency.clone(),
                autocomplete: true,
                reference_id: order.reference_id.clone(),
                note: link.payment_note.clone(),
                order_id: Some(order.id.clone()),
                buyer_email_address: email.or(link.buyer_email.clone()),
            }
            .run(w, &account, n.card)
        });
        if let Ok(payment) = &charged
            && let Some(o) = w.square.orders.get_mut(&order.id)
        {
            o.state = "OPEN".into();
            o.payment_id = payment["id"].as_str().map(str::to_owned);
            o.updated_ms = now_ms();
            o.version += 1;
        }
        Some((link, charged))
    });
    match result {
        None => render(shared, link_id, None),
        Some((link, Ok(_))) => match link.redirect_url {
            Some(url) => Redirect::to(&url).into_response(),
            None => page("Paid", "<p>Thank you. Your payment is complete.</p>").into_response(),
        },
        Some((_, Err(e))) => render(shared, link_id, Some(shopper_message(e.code()))),
    }
}

/// Plain words for a decline on the hosted page.
fn shopper_message(code: &str) -> &'static str {
    match code {
        "INSUFFICIENT_FUNDS" => "Your card has insufficient funds.",
        "CVV_FAILURE" => "The security code is incorrect.",
        "ADDRESS_VERIFICATION_FAILURE" => "The postal code does not match the card.",
        "CARD_EXPIRED" | "INVALID_EXPIRATION" => "The card has expired or the expiry date is wrong.",
        "CARD_DECLINED_VERIFICATION_REQUIRED" => "Your bank could not verify this payment.",
        "TEMPORARY_ERROR" => "We could not process the card. Please try again.",
        _ => "Your card was declined.",
    }
}

pub(crate) fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                String::from(char::from(b))
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
