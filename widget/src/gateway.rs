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
    Card { field: Option<CardField>, message: String },
    Unsupported,
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
        GatewayStyle::Square => Err(TokenizeError::Unsupported),
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
    let response = Request::post(&format!("{}/v1/tokens", gateway.api_base.trim_end_matches('/')))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form)
        .map_err(|_| TokenizeError::Network)?
        .send()
        .await
        .map_err(|_| TokenizeError::Network)?;
    if response.ok() {
        let token: StripeToken = response.json().await.map_err(|_| TokenizeError::Network)?;
        return Ok(token.id);
    }
    let body: StripeErrorBody = response.json().await.map_err(|_| TokenizeError::Network)?;
    let field = match body.error.param.as_deref() {
        Some("number") => Some(CardField::Number),
        Some("exp_month" | "exp_year") => Some(CardField::Expiry),
        Some("cvc") => Some(CardField::Cvc),
        _ => None,
    };
    Err(TokenizeError::Card {
        field,
        message: body.error.message.unwrap_or_else(|| "The card was not accepted.".into()),
    })
}

fn encode(s: &str) -> String {
    String::from(js_sys::encode_uri_component(s))
}
