//! Tokenization: the one place card data leaves the widget, straight to the
//! gateway's browser endpoint with the store's public key. The Paylet server
//! only ever gets the resulting token.

use paylet_api::{GatewayStyle, PublicGatewayConfig};

use crate::api;
use crate::json::{self, Json, Writer};

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
        ("card[exp_month]", &json::decimal(card.exp_month.into())),
        ("card[exp_year]", &json::decimal(card.exp_year.into())),
        ("card[cvc]", card.cvc.as_str()),
    ]
    .iter()
    .map(|(k, v)| [encode(k), encode(v)].join("="))
    .collect::<Vec<_>>()
    .join("&");
    let body = Some(("application/x-www-form-urlencoded", form));
    let (ok, body) = call(&url(gateway, "/v1/tokens"), body).await?;
    if ok {
        return json::string(&body, "id").ok_or(TokenizeError::Network);
    }
    // `{"error": {"message"?, "param"?}}`
    let error = json::get(&body, "error");
    let (true, Some(param), Some(message)) =
        (error.is_object(), json::opt_string(&error, "param"), json::opt_string(&error, "message"))
    else {
        return Err(TokenizeError::Network);
    };
    Err(card_error(param.as_deref().unwrap_or_default(), message))
}

/// Sends a request to the gateway: whether it succeeded, and its JSON body.
async fn call(url: &str, body: Option<(&str, String)>) -> Result<(bool, Json), TokenizeError> {
    let response = api::send(url, body, None).await.ok_or(TokenizeError::Network)?;
    let body = api::body(&response).await.ok_or(TokenizeError::Network)?;
    if !body.is_object() {
        return Err(TokenizeError::Network);
    }
    Ok((response.ok(), body))
}

/// The Square-style nonce: what Square's Web Payments SDK does in its own
/// frame, here as the sandbox's `POST /v2/card-nonces` with the application id.
async fn square_nonce(gateway: &PublicGatewayConfig, card: &CardInput) -> Result<String, TokenizeError> {
    let card_json = Writer::new()
        .str("number", &card.number)
        .num("exp_month", card.exp_month.into())
        .num("exp_year", card.exp_year.into())
        .str("cvv", &card.cvc)
        .opt_str("postal_code", card.postal_code.as_deref())
        .end();
    let body = Writer::new().str("application_id", &gateway.public_key).raw("card", &card_json).end();
    let (ok, body) = call(&url(gateway, "/v2/card-nonces"), Some(("application/json", body))).await?;
    if ok {
        return json::string(&body, "card_nonce").ok_or(TokenizeError::Network);
    }
    // `{"errors": [{"detail"?, "field"?}, …]}`
    let errors = json::list(&body, "errors", |e| Some((json::opt_string(e, "field")?, json::opt_string(e, "detail")?)));
    let first = errors.ok_or(TokenizeError::Network)?.into_iter().next();
    let (field, detail) = first.unwrap_or_default();
    let mut field = field.unwrap_or_default();
    while let Some(rest) = field.strip_prefix("card.") {
        field = rest.to_owned();
    }
    Err(card_error(&field, detail))
}

fn url(gateway: &PublicGatewayConfig, path: &str) -> String {
    [gateway.api_base.trim_end_matches('/'), path].concat()
}

/// A gateway's card error, pointed at the field it names (both styles name
/// them alike once Square's `card.` prefix is off).
pub fn card_error(param: &str, message: Option<String>) -> TokenizeError {
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
