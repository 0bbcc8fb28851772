//! What a shopper's browser sends, as the widget sends it: the checkout
//! config, the order (with an Idempotency-Key), the card to the gateway with
//! the publishable key, the token to the server, and the confirmation after
//! 3-D Secure. Each answer is the expected one or an error saying what came.

use reqwest::StatusCode;
use serde_json::{Value, json};

/// `GET /v1/stores/{store}/checkout-config`.
pub async fn checkout_config(http: &reqwest::Client, server: &str, store: &str) -> Result<Value, String> {
    answer(http.get(format!("{server}/v1/stores/{store}/checkout-config")), StatusCode::OK).await
}

/// `POST /v1/stores/{store}/orders` for `quantity` TEEs (the bench stores'
/// product); the order's JSON when the server made it.
pub async fn create_order(
    http: &reqwest::Client,
    server: &str,
    store: &str,
    key: String,
    quantity: u64,
) -> Result<Value, String> {
    let body = json!({
        "items": [{ "sku": "TEE", "quantity": quantity }],
        "customer": {
            "email": "bench@example.com", "name": "Bench",
            "billing_address": { "line1": "1 Main St", "city": "San Francisco", "postal_code": "94103", "country": "US" }
        }
    });
    let request = http.post(format!("{server}/v1/stores/{store}/orders")).header("Idempotency-Key", key).json(&body);
    answer(request, StatusCode::CREATED).await
}

/// A Stripe-style token for `number` from the gateway at `api_base`, posted
/// form-encoded with the publishable key in the body as the widget does.
pub async fn tokenize(
    http: &reqwest::Client,
    api_base: &str,
    public_key: &str,
    number: &str,
) -> Result<String, String> {
    let form = [
        ("key", public_key),
        ("card[number]", number),
        ("card[exp_month]", "12"),
        ("card[exp_year]", "2034"),
        ("card[cvc]", "123"),
    ];
    let token = answer(http.post(format!("{api_base}/v1/tokens")).form(&form), StatusCode::OK).await?;
    token["id"].as_str().map(str::to_owned).ok_or_else(|| format!("no token id in {token}"))
}

/// `POST /v1/orders/{id}/payments` with the token; the payment result.
pub async fn pay(http: &reqwest::Client, server: &str, order: &Order, token: &str) -> Result<Value, String> {
    let body = json!({ "client_secret": order.client_secret, "token": token });
    answer(http.post(format!("{server}/v1/orders/{}/payments", order.id)).json(&body), StatusCode::OK).await
}

/// `POST /v1/orders/{id}/payments/confirm`, back from the 3-D Secure page.
pub async fn confirm(http: &reqwest::Client, server: &str, order: &Order) -> Result<Value, String> {
    let body = json!({ "client_secret": order.client_secret });
    answer(http.post(format!("{server}/v1/orders/{}/payments/confirm", order.id)).json(&body), StatusCode::OK).await
}

/// Completes the gateway's 3-D Secure challenge as the shopper does (the
/// page's "Complete authentication"); its answer sends the browser back to
/// the widget, which is where this step ends.
pub async fn complete_challenge(http: &reqwest::Client, page: &str) -> Result<(), String> {
    let response =
        http.post(page).form(&[("action", "complete")]).send().await.map_err(|e| format!("no answer: {e}"))?;
    match response.status() {
        StatusCode::SEE_OTHER => Ok(()),
        other => Err(format!("the challenge page {page} answered {other}")),
    }
}

/// An order as the shopper's browser holds it.
pub struct Order {
    pub id: String,
    pub client_secret: String,
}

impl Order {
    pub fn of(created: &Value) -> Result<Order, String> {
        match (created["id"].as_str(), created["client_secret"].as_str()) {
            (Some(id), Some(secret)) => Ok(Order { id: id.to_owned(), client_secret: secret.to_owned() }),
            _ => Err(format!("no order id or client secret in {created}")),
        }
    }
}

/// The JSON body of an answer with the `expected` status; otherwise the
/// status and the start of the body.
pub async fn answer(request: reqwest::RequestBuilder, expected: StatusCode) -> Result<Value, String> {
    let response = request.send().await.map_err(|e| format!("no answer: {e}"))?;
    let status = response.status();
    let body = response.text().await.map_err(|e| format!("{status}, body cut short: {e}"))?;
    if status != expected {
        return Err(format!("{status}: {}", body.chars().take(300).collect::<String>()));
    }
    serde_json::from_str(&body)
        .map_err(|e| format!("{status}, not JSON ({e}): {}", body.chars().take(300).collect::<String>()))
}
