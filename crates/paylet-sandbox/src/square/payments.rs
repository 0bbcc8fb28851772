//! Payments: create from a `cnon:` source, retrieve, complete, cancel; and the
//! charge itself, shared with payment links.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::decline_code;
use super::objects::{Nonce, Payment};
use super::{SquareError, SquareRequest, authenticate, emit};
use crate::accounts::Account;
use crate::cards::{Decline, Outcome, StoredCard};
use crate::ids::{now_ms, random_suffix};
use crate::owned::OwnedLookup;
use crate::state::{Shared, World};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MoneyIn {
    pub amount: i64,
    pub currency: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreatePayment {
    source_id: String,
    idempotency_key: String,
    amount_money: MoneyIn,
    #[serde(default)]
    autocomplete: Option<bool>,
    #[serde(default)]
    reference_id: Option<String>,
    #[serde(default)]
    location_id: Option<String>,
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    verification_token: Option<String>,
    #[serde(default)]
    buyer_email_address: Option<String>,
    #[serde(default)]
    order_id: Option<String>,
    /// Accepted for compatibility; the sandbox keeps no customers.
    #[serde(default, rename = "customer_id")]
    _customer_id: Option<String>,
}

fn too_long(field: &str, max: usize) -> SquareError {
    SquareError::invalid("VALUE_TOO_LONG", format!("Field must not be greater than {max} length")).field(field)
}

pub(crate) fn check_money(m: &MoneyIn, field: &str) -> Result<String, SquareError> {
    if m.amount < 1 {
        return Err(
            SquareError::invalid("VALUE_TOO_LOW", "Amount must be greater than 0.").field(format!("{field}.amount"))
        );
    }
    let currency = m.currency.to_ascii_uppercase();
    if paylet_api::Currency::parse(&currency).is_err() {
        return Err(SquareError::invalid("INVALID_ENUM_VALUE", format!("`{}` is not a valid currency.", m.currency))
            .field(format!("{field}.currency")));
    }
    Ok(currency)
}

pub(crate) async fn create(
    State(shared): State<Arc<Shared>>,
    req: SquareRequest<CreatePayment>,
) -> Result<Json<Value>, SquareError> {
    let account = shared.read(|w| authenticate(&req.headers, w))?;
    let b = &req.body;
    if b.idempotency_key.len() > 45 {
        return Err(too_long("idempotency_key", 45));
    }
    if b.reference_id.as_ref().is_some_and(|r| r.len() > 40) {
        return Err(too_long("reference_id", 40));
    }
    if b.note.as_ref().is_some_and(|n| n.len() > 500) {
        return Err(too_long("note", 500));
    }
    let currency = check_money(&b.amount_money, "amount_money")?;
    if b.location_id.as_ref().is_some_and(|l| *l != account.location_id) {
        return Err(
            SquareError::invalid("INVALID_LOCATION", "Location does not belong to this merchant.").field("location_id")
        );
    }
    let fault = shared.write(|w| w.charge_fault(&account.id));
    if let Some(failure) = fault.fail {
        return Err(SquareError::injected(failure));
    }
    let result = shared.write(|w| {
        if let Some(order) = &b.order_id
            && w.square.orders.owned_by(order, &account.id).is_none()
        {
            return Err(SquareError::not_found("order", order));
        }
        let nonce = take_nonce(w, &account, &b.source_id, b.verification_token.as_deref())?;
        let charge = Charge {
            amount: b.amount_money.amount,
            currency,
            autocomplete: b.autocomplete.unwrap_or(true),
            reference_id: b.reference_id.clone(),
            note: b.note.clone(),
            order_id: b.order_id.clone(),
            buyer_email_address: b.buyer_email_address.clone(),
        };
        charge.run(w, &account, nonce.card)
    });
    fault.delay().await;
    result.map(|p| Json(json!({ "payment": p })))
}

/// The card behind a source id: a nonce from `/v2/card-nonces`, or one of
/// Square's documented sandbox nonces. Marks it used unless the card still
/// needs buyer verification, which the shopper does before retrying.
pub(crate) fn take_nonce(
    w: &mut World,
    account: &Account,
    source_id: &str,
    verification: Option<&str>,
) -> Result<Nonce, SquareError> {
    let nonce = match w.square.nonces.owned_by(source_id, &account.id) {
        Some(n) => n.clone(),
        None => magic_nonce(source_id, &account.id)
            .ok_or_else(|| SquareError::invalid("INVALID_CARD_DATA", "Invalid card data.").field("source_id"))?,
    };
    if nonce.used || source_id == "cnon:card-nonce-already-used" {
        return Err(SquareError::invalid("CARD_TOKEN_USED", "Card nonce already used; please request new nonce.")
            .field("source_id"));
    }
    if nonce.card.outcome == Outcome::RequireAuthentication {
        let verified = verification
            .and_then(|t| w.square.verifications.get(t))
            .is_some_and(|v| v.nonce == source_id && v.account_id == account.id);
        if !verified {
            return Err(SquareError::declined("CARD_DECLINED_VERIFICATION_REQUIRED"));
        }
    }
    if let Some(n) = w.square.nonces.get_mut(source_id) {
        n.used = true;
    }
    Ok(nonce)
}

/// Square's sandbox test nonces, which work without tokenizing.
fn magic_nonce(source_id: &str, account_id: &str) -> Option<Nonce> {
    let (number, outcome) = match source_id {
        "cnon:card-nonce-ok" | "cnon:card-nonce-already-used" => ("4532759734545858", Outcome::Succeed),
        "cnon:card-nonce-declined" => ("4000000000000002", Outcome::Decline(Decline::Generic)),
        "cnon:card-nonce-rejected-cvv" => ("4532759734545858", Outcome::Decline(Decline::IncorrectCvc)),
        "cnon:card-nonce-rejected-postalcode" => ("4532759734545858", Outcome::Decline(Decline::PostalCode)),
        "cnon:card-nonce-rejected-expiration" => ("4532759734545858", Outcome::Decline(Decline::InvalidExpiration)),
        _ => return None,
    };
    let mut card = StoredCard::new(number, 12, 2030);
    card.outcome = outcome;
    Some(Nonce { id: source_id.to_owned(), account_id: account_id.to_owned(), card, postal_code: None, used: false })
}

/// One charge of a card, as CreatePayment or a payment link's page makes it.
pub(crate) struct Charge {
    pub amount: i64,
    pub currency: String,
    pub autocomplete: bool,
    pub reference_id: Option<String>,
    pub note: Option<String>,
    pub order_id: Option<String>,
    pub buyer_email_address: Option<String>,
}

impl Charge {
    /// Creates the payment (COMPLETED, APPROVED, or FAILED with Square's decline
    /// error carrying the payment) and raises `payment.created` and, when it
    /// completes, `payment.updated`.
    pub(crate) fn run(self, w: &mut World, account: &Account, card: StoredCard) -> Result<Value, SquareError> {
        let now = now_ms();
        let decline = match card.outcome {
            Outcome::Decline(d) => Some(decline_code(d)),
            _ => None,
        };
        let mut payment = Payment {
            id: random_suffix(29),
            account_id: account.id.clone(),
            application_id: account.application_id.clone(),
            location_id: account.location_id.clone(),
            amount: self.amount,
            currency: self.currency,
            status: if decline.is_some() { "FAILED" } else { "APPROVED" }.into(),
            card,
            reference_id: self.reference_id,
            note: self.note,
            order_id: self.order_id,
            buyer_email_address: self.buyer_email_address,
            refunded: 0,
            refund_ids: Vec::new(),
            error_code: decline.map(str::to_owned),
            created_ms: now,
            updated_ms: now,
            version: 1,
        };
        let id = payment.id.clone();
        emit(w, &account.id, "payment.created", "payment", &id, payment.to_json());
        if let Some(code) = decline {
            let json = payment.to_json();
            w.square.payments.insert(id, payment);
            return Err(SquareError::declined(code).with_payment(json));
        }
        if self.autocomplete {
            payment.status = "COMPLETED".into();
            payment.version += 1;
        }
        let json = payment.to_json();
        w.square.payments.insert(id.clone(), payment);
        if self.autocomplete {
            emit(w, &account.id, "payment.updated", "payment", &id, json.clone());
        }
        Ok(json)
    }
}

pub(crate) async fn retrieve(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, SquareError> {
    shared.read(|w| {
        let account = authenticate(&headers, w)?;
        w.square
            .payments
            .owned_by(&id, &account.id)
            .map(|p| Json(json!({ "payment": p.to_json() })))
            .ok_or_else(|| SquareError::not_found("payment", &id))
    })
}

/// `complete` and `cancel` move an APPROVED payment on.
fn finish(shared: &Shared, headers: &HeaderMap, id: &str, to: &str) -> Result<Json<Value>, SquareError> {
    let account = shared.read(|w| authenticate(headers, w))?;
    shared.write(|w| {
        let p = w.square.payments.owned_by_mut(id, &account.id).ok_or_else(|| SquareError::not_found("payment", id))?;
        if p.status != "APPROVED" {
            let code = match p.status.as_str() {
                "COMPLETED" => "DELAYED_TRANSACTION_CAPTURED",
                "CANCELED" => "DELAYED_TRANSACTION_CANCELED",
                _ => "DELAYED_TRANSACTION_FAILED",
            };
            return Err(SquareError::invalid(code, format!("The payment has status {}.", p.status)).executed());
        }
        p.status = to.to_owned();
        p.updated_ms = now_ms();
        p.version += 1;
        let json = p.to_json();
        emit(w, &account.id, "payment.updated", "payment", id, json.clone());
        Ok(Json(json!({ "payment": json })))
    })
}

pub(crate) async fn complete(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, SquareError> {
    finish(&shared, &headers, &id, "COMPLETED")
}

pub(crate) async fn cancel(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, SquareError> {
    finish(&shared, &headers, &id, "CANCELED")
}
