//! `POST /v2/card-nonces`: the sandbox's stand-in for the tokenization Square's
//! Web Payments SDK does inside its own iframes (Square has no public REST
//! endpoint for it). Browsers call it with the application id, CORS open; it
//! returns a single-use `cnon:…` source id for `POST /v2/payments`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

use super::objects::{Nonce, card_brand};
use super::{SquareError, SquareRequest};
use crate::cards::{Decline, Outcome, check_card};
use crate::ids::random_suffix;
use crate::state::Shared;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateNonce {
    application_id: String,
    card: CardIn,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CardIn {
    number: String,
    exp_month: u32,
    exp_year: u32,
    #[serde(default)]
    cvv: Option<String>,
    #[serde(default)]
    postal_code: Option<String>,
}

pub(crate) async fn create(
    State(shared): State<Arc<Shared>>,
    req: SquareRequest<CreateNonce>,
) -> Result<Json<Value>, SquareError> {
    let account_id = shared
        .read(|w| w.square_account_by_application(&req.body.application_id).map(|a| a.id.clone()))
        .ok_or_else(SquareError::unauthorized)?;
    let c = &req.body.card;
    let mut card = check_card(&c.number, &c.exp_month.to_string(), &c.exp_year.to_string(), c.cvv.as_deref())
        .map_err(SquareError::card)?;
    // Square's documented sandbox values for card problems.
    if card.outcome == Outcome::Succeed {
        if c.cvv.as_deref() == Some("911") {
            card.outcome = Outcome::Decline(Decline::IncorrectCvc);
        } else if c.postal_code.as_deref() == Some("99999") {
            card.outcome = Outcome::Decline(Decline::PostalCode);
        } else if c.exp_month == 1 && c.exp_year == 2040 {
            card.outcome = Outcome::Decline(Decline::InvalidExpiration);
        }
    }
    let nonce = Nonce {
        id: format!("cnon:{}", random_suffix(28)),
        account_id,
        card,
        postal_code: c.postal_code.clone(),
        used: false,
    };
    let json = json!({
        "card_nonce": nonce.id,
        "card": {
            "card_brand": card_brand(&nonce.card),
            "last_4": nonce.card.last4,
            "exp_month": nonce.card.exp_month,
            "exp_year": nonce.card.exp_year,
        },
    });
    shared.write(|w| w.square.nonces.insert(nonce.id.clone(), nonce));
    Ok(Json(json))
}
