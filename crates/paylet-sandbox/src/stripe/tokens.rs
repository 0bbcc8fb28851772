//! `POST /v1/tokens` and `POST /v1/payment_methods`: the only endpoints that see a
//! card number. Browsers call them directly with the publishable key.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde_json::Value;

use super::objects::{PaymentMethod, Token};
use super::{Params, StripeError, StripeRequest};
use crate::accounts::KeyKind;
use crate::cards::{CardProblem, StoredCard, check_card};
use crate::ids::{new_id, now_unix};
use crate::state::Shared;

const CARD_PARAMS: [&str; 7] =
    ["card[number]", "card[exp_month]", "card[exp_year]", "card[cvc]", "card[address_zip]", "card[name]", "key"];

/// Raw card data is taken only from a publishable key, as a browser sends it:
/// the sandbox plays an account that is not enabled for raw card data on the server.
fn browser_account(shared: &Shared, req: &StripeRequest) -> Result<String, StripeError> {
    match shared.read(|w| req.account(w))? {
        (account, KeyKind::Publishable) => Ok(account.id),
        (_, KeyKind::Secret) => Err(StripeError::invalid(
            "Sending credit card numbers directly to the Stripe API is generally unsafe. This sandbox accepts raw \
             card data only from a publishable key, as a browser sends it.",
        )),
    }
}

pub(crate) async fn create_token(
    State(shared): State<Arc<Shared>>,
    req: StripeRequest,
) -> Result<Json<Value>, StripeError> {
    let account_id = browser_account(&shared, &req)?;
    req.params.reject_unknown(&CARD_PARAMS)?;
    let card = read_card(&req.params, "card")?;
    let token = Token {
        id: new_id("tok"),
        account_id,
        card_id: new_id("card"),
        card,
        address_zip: req.params.get("card[address_zip]").map(str::to_owned),
        client_ip: req.peer.map(|ip| ip.to_string()),
        created: now_unix(),
        used: false,
    };
    let json = token.to_json();
    shared.write(|w| w.stripe.tokens.insert(token.id.clone(), token));
    Ok(Json(json))
}

pub(crate) async fn create_payment_method(
    State(shared): State<Arc<Shared>>,
    req: StripeRequest,
) -> Result<Json<Value>, StripeError> {
    let account_id = browser_account(&shared, &req)?;
    let mut allowed = CARD_PARAMS.to_vec();
    allowed.extend(["type", "billing_details["]);
    req.params.reject_unknown(&allowed)?;
    if req.params.require("type")? != "card" {
        return Err(
            StripeError::invalid_request("parameter_invalid_string", "Only type=card is supported.").param("type")
        );
    }
    let pm = PaymentMethod {
        id: new_id("pm"),
        account_id,
        card: read_card(&req.params, "card")?,
        postal_code: req.params.get("billing_details[address][postal_code]").map(str::to_owned),
        created: now_unix(),
    };
    let json = pm.to_json();
    shared.write(|w| w.stripe.payment_methods.insert(pm.id.clone(), pm));
    Ok(Json(json))
}

/// Validates a card the way Stripe does at tokenization: number format and
/// Luhn, expiry month and year, CVC format. Declines happen later, at charge.
/// `prefix` is `card` for the API (`card[number]`) or empty for a hosted form.
pub(crate) fn read_card(params: &Params, prefix: &str) -> Result<StoredCard, StripeError> {
    let field = |name: &str| if prefix.is_empty() { name.to_owned() } else { format!("{prefix}[{name}]") };
    let number = params.require(&field("number"))?;
    validate_card(
        number,
        params.require(&field("exp_month"))?,
        params.require(&field("exp_year"))?,
        params.get(&field("cvc")),
    )
}

pub(crate) fn validate_card(
    number: &str,
    month: &str,
    year: &str,
    cvc: Option<&str>,
) -> Result<StoredCard, StripeError> {
    check_card(number, month, year, cvc).map_err(|problem| match problem {
        CardProblem::InvalidNumber => {
            StripeError::card("invalid_number", "Your card number is invalid.").param("number")
        }
        CardProblem::IncorrectNumber => {
            StripeError::card("incorrect_number", "Your card number is incorrect.").param("number")
        }
        CardProblem::InvalidMonth => {
            StripeError::card("invalid_expiry_month", "Your card's expiration month is invalid.").param("exp_month")
        }
        CardProblem::InvalidYear => {
            StripeError::card("invalid_expiry_year", "Your card's expiration year is invalid.").param("exp_year")
        }
        CardProblem::InvalidCvc => {
            StripeError::card("invalid_cvc", "Your card's security code is invalid.").param("cvc")
        }
    })
}
