//! The Paylet server's public API, as the widget calls it (same origin).

use gloo_net::http::{Request, Response};
use paylet_api::{
    CheckoutConfig, CheckoutSessionView, ClientSecret, ConfirmPaymentRequest, CreateOrderRequest, ErrorBody,
    ErrorDetail, HostedSessionRequest, HostedSessionResponse, IDEMPOTENCY_KEY_HEADER, Order, OrderId, PayRequest,
    PaymentResult, StoreId,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::i18n::Texts;

/// Why a call failed: the network (worth a retry) or the server's answer.
#[derive(Debug, Clone)]
pub enum ApiFailure {
    Network,
    Api(ErrorDetail),
}

impl ApiFailure {
    pub fn message(&self, t: &Texts) -> String {
        match self {
            ApiFailure::Network => t.server_unreachable.into(),
            ApiFailure::Api(detail) => detail.message.clone(),
        }
    }
}

async fn read<T: DeserializeOwned>(response: Result<Response, gloo_net::Error>) -> Result<T, ApiFailure> {
    let response = response.map_err(|_| ApiFailure::Network)?;
    if response.ok() {
        return response.json().await.map_err(|_| ApiFailure::Network);
    }
    match response.json::<ErrorBody>().await {
        Ok(body) => Err(ApiFailure::Api(body.error)),
        Err(_) => Err(ApiFailure::Network),
    }
}

pub async fn checkout_config(store: &StoreId) -> Result<CheckoutConfig, ApiFailure> {
    read(Request::get(&format!("/v1/stores/{store}/checkout-config")).send().await).await
}

pub async fn checkout_session(id: &str) -> Result<CheckoutSessionView, ApiFailure> {
    let path = format!("/v1/checkout-sessions/{}", js_sys::encode_uri_component(id));
    read(Request::get(&path).send().await).await
}

pub async fn create_order(
    store: &StoreId,
    request: &CreateOrderRequest,
    idempotency_key: &str,
) -> Result<Order, ApiFailure> {
    let request = Request::post(&format!("/v1/stores/{store}/orders"))
        .header(IDEMPOTENCY_KEY_HEADER, idempotency_key)
        .json(request)
        .map_err(|_| ApiFailure::Network)?;
    read(request.send().await).await
}

async fn post<T: DeserializeOwned>(path: &str, body: &impl Serialize) -> Result<T, ApiFailure> {
    let request = Request::post(path).json(body).map_err(|_| ApiFailure::Network)?;
    read(request.send().await).await
}

pub async fn pay(order: &OrderId, request: &PayRequest) -> Result<PaymentResult, ApiFailure> {
    post(&format!("/v1/orders/{order}/payments"), request).await
}

pub async fn confirm(order: &OrderId, request: &ConfirmPaymentRequest) -> Result<PaymentResult, ApiFailure> {
    post(&format!("/v1/orders/{order}/payments/confirm"), request).await
}

pub async fn hosted_session(
    order: &OrderId,
    request: &HostedSessionRequest,
) -> Result<HostedSessionResponse, ApiFailure> {
    post(&format!("/v1/orders/{order}/hosted-session"), request).await
}

/// The order as the server knows it, after it asked the gateway about a
/// payment still open (the shopper's return from the gateway's page).
pub async fn refreshed_order(order: &OrderId, secret: &ClientSecret) -> Result<Order, ApiFailure> {
    let secret = js_sys::encode_uri_component(secret.expose());
    read(Request::get(&format!("/v1/orders/{order}?client_secret={secret}&refresh=true")).send().await).await
}

/// 128 random bits as hex, from the browser's CSPRNG.
pub fn random_key() -> String {
    let mut bytes = [0u8; 16];
    if let Some(crypto) = web_sys::window().and_then(|w| w.crypto().ok()) {
        let _ = crypto.get_random_values_with_u8_array(&mut bytes);
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
