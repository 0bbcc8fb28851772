//! Tokenization: the one place card data leaves the widget, straight to the
//! gateway's browser endpoint with the store's public key. The Paylet server
//! only ever gets the resulting token.

use gloo_net::http::Request;
use paylet_api::{GatewayStyle, PublicGatewayConfig};
use serde::Deserialize;

/// What the shopper typed, validated. Lives only in this page's memory.
pub struct CardInput {
    /// Digits only.
    pub number: String,
    pub exp_month: u8,
    pub exp_year: u16,
    pub cvc: String,
    /// The billing postal code, which Square-style gateways check.
    pub postal_code: Option<String>,
}

/// Which field a gateway's card error is about, so the widget can point at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardField {
    Number,
    Expiry,
    Cvc,
}

#[derive(Debug, Clone)]
pub enum TokenizeError {
    Network,
    /// The gateway refused the card; its own words, and the field they are about.
    Card {
        field: Option<CardField>,
        message: String,
    },
}

#[derive(Deserialize)]
struct StripeToken {
    id: String,
}

#[derive(Deserialize)]
struct StripeErrorBody {
    error: StripeError,
}

#[derive(Deserialize)]
struct StripeError {
    message: Option<String>,
    param: Option<String>,
}

pub async fn tokenize(gateway: &PublicGatewayConfig, card: &CardInput) -> Result<String, TokenizeError> {
    match gateway.style {
        GatewayStyle::Stripe => stripe_token(gateway, card).await,
        GatewayStyle::Square => square_nonce(gateway, card).await,
    }
}

/// `POST /v1/tokens`, form-encoded with the key in the body, as Stripe.js sends
/// it: a CORS "simple" request, so no preflight round trip.
async fn stripe_token(gateway: &PublicGatewayConfig, card: &CardInput) -> Result<String, TokenizeError> {
    let form = [
        ("key", gateway.public_key.as_str()),
        ("card[number]", card.number.as_str()),
        ("card[exp_month]", &card.exp_month.to_string()),
        ("card[exp_year]", &card.exp_year.to_string()),
        ("card[cvc]", card.cvc.as_str()),
    ]
    .iter()
    .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
    .collect::<Vec<_>>()
    .join("&");
    let request = Request::post(&url(gateway, "/v1/tokens"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form)
        .map_err(|_| TokenizeError::Network)?;
    let response = request.send().await.map_err(|_| TokenizeError::Network)?;
    if response.ok() {
        let token: StripeToken = response.json().await.map_err(|_| TokenizeError::Network)?;
        return Ok(token.id);
    }
    let body: StripeErrorBody = response.json().await.map_err(|_| TokenizeError::Network)?;
    Err(card_error(body.error.param.as_deref().unwrap_or_default(), body.error.message))
}

#[derive(Deserialize)]
struct SquareNonce {
    card_nonce: String,
}

#[derive(Deserialize)]
struct SquareErrors {
    errors: Vec<SquareError>,
}

#[derive(Deserialize)]
struct SquareError {
    detail: Option<String>,
    field: Option<String>,
}

/// The Square-style nonce: what Square's Web Payments SDK does in its own
/// frame, here as the sandbox's `POST /v2/card-nonces` with the application id.
async fn square_nonce(gateway: &PublicGatewayConfig, card: &CardInput) -> Result<String, TokenizeError> {
    let body = serde_json::json!({
        "application_id": gateway.public_key,
        "card": {
            "number": card.number,
            "exp_month": card.exp_month,
            "exp_year": card.exp_year,
            "cvv": card.cvc,
            "postal_code": card.postal_code,
        },
    });
    let request = Request::post(&url(gateway, "/v2/card-nonces")).json(&body).map_err(|_| TokenizeError::Network)?;
    let response = request.send().await.map_err(|_| TokenizeError::Network)?;
    if response.ok() {
        let nonce: SquareNonce = response.json().await.map_err(|_| TokenizeError::Network)?;
        return Ok(nonce.card_nonce);
    }
    let body: SquareErrors = response.json().await.map_err(|_| TokenizeError::Network)?;
    let first = body.errors.into_iter().next();
    let field = first.as_ref().and_then(|e| e.field.clone()).unwrap_or_default();
    Err(card_error(field.trim_start_matches("card."), first.and_then(|e| e.detail)))
}

fn url(gateway: &PublicGatewayConfig, path: &str) -> String {
    format!("{}{path}", gateway.api_base.trim_end_matches('/'))
}

/// A gateway's card error, pointed at the field it names (both styles name
/// them alike once Square's `card.` prefix is off).
fn card_error(param: &str, message: Option<String>) -> TokenizeError {
    let field = match param {
        "number" => Some(CardField::Number),
        "exp_month" | "exp_year" => Some(CardField::Expiry),
        "cvc" | "cvv" => Some(CardField::Cvc),
        _ => None,
    };
    TokenizeError::Card { field, message: message.unwrap_or_else(|| "The card was not accepted.".into()) }
}

fn encode(s: &str) -> String {
    String::from(js_sys::encode_uri_component(s))
}
