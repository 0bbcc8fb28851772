//! `POST /v1/tokens` and `POST /v1/payment_methods`: the only endpoints that see a
//! card number. Browsers call them directly with the publishable key.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use serde_json::Value;

use super::{Params, StripeError, authenticate};
use crate::accounts::KeyKind;
use crate::cards::StoredCard;
use crate::ids::{new_id, now_unix};
use crate::state::{Shared, lock};
use crate::stripe::objects::{PaymentMethod, Token};

const CARD_PARAMS: [&str; 6] =
    ["card[number]", "card[exp_month]", "card[exp_year]", "card[cvc]", "card[address_zip]", "key"];

pub(crate) async fn create_token(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, StripeError> {
    let params = Params::parse(&body)?;
    let (account, kind) = authenticate(&shared, &headers, &params)?;
    if kind != KeyKind::Publishable {
        return Err(StripeError::publishable_key_required());
    }
    params.reject_unknown(&CARD_PARAMS)?;
    let card = read_card(&params)?;
    let token = Token {
        id: new_id("tok"),
        account_id: account.id,
        card_id: new_id("card"),
        card,
        address_zip: params.get("card[address_zip]").map(str::to_owned),
        client_ip: Some(peer.ip().to_string()),
        created: now_unix(),
        used: false,
    };
    let json = token.to_json();
    lock(&shared.stripe).tokens.insert(token.id.clone(), token);
    Ok(Json(json))
}

pub(crate) async fn create_payment_method(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, StripeError> {
    let params = Params::parse(&body)?;
    let (account, kind) = authenticate(&shared, &headers, &params)?;
    if kind != KeyKind::Publishable {
        return Err(StripeError::publishable_key_required());
    }
    let mut allowed = CARD_PARAMS.to_vec();
    allowed.push("type");
    params.reject_unknown(&allowed)?;
    if params.require("type")? != "card" {
        return Err(
            StripeError::invalid_request("parameter_invalid_string", "Only type=card is supported.").param("type")
        );
    }
    let pm = PaymentMethod { id: new_id("pm"), account_id: account.id, card: read_card(&params)?, created: now_unix() };
    let json = pm.to_json();
    lock(&shared.stripe).payment_methods.insert(pm.id.clone(), pm);
    Ok(Json(json))
}

/// Validates the card the way Stripe does at tokenization: number format and
/// Luhn, expiry month and year, CVC format. Declines happen later, at charge.
fn read_card(params: &Params) -> Result<StoredCard, StripeError> {
    let number = params.require("card[number]")?;
    if !(12..=19).contains(&number.len()) || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(
            StripeError::card("invalid_number", "The card number is not a valid credit card number.").param("number")
        );
    }
    if !paylet_card::luhn_valid(number) {
        return Err(StripeError::card("incorrect_number", "Your card number is incorrect.").param("number"));
    }

    let invalid_month =
        || StripeError::card("invalid_expiry_month", "Your card's expiration month is invalid.").param("exp_month");
    let invalid_year =
        || StripeError::card("invalid_expiry_year", "Your card's expiration year is invalid.").param("exp_year");
    let month: u8 = params.require("card[exp_month]")?.parse().map_err(|_| invalid_month())?;
    if !(1..=12).contains(&month) {
        return Err(invalid_month());
    }
    let year: u16 = params.require("card[exp_year]")?.parse().map_err(|_| invalid_year())?;
    let year = if year < 100 { 2000 + year } else { year };
    let (now_year, now_month) = current_year_month();
    if year < now_year || year > now_year + 50 {
        return Err(invalid_year());
    }
    if year == now_year && month < now_month {
        return Err(invalid_month());
    }

    if let Some(cvc) = params.get("card[cvc]")
        && (!(3..=4).contains(&cvc.len()) || !cvc.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(StripeError::card("invalid_cvc", "Your card's security code is invalid.").param("cvc"));
    }
    Ok(StoredCard::new(number, month, year))
}

/// Today's year and month in UTC.
fn current_year_month() -> (u16, u8) {
    let now = time::OffsetDateTime::now_utc();
    (u16::try_from(now.year()).unwrap_or(u16::MAX), u8::from(now.month()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn current_year_month_is_plausible() {
        let (y, m) = current_year_month();
        assert!(y >= 2024);
        assert!((1..=12).contains(&m));
    }
}
