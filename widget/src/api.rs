//! The Paylet server's public API, as the widget calls it (same origin).

use paylet_api::{
    CheckoutConfig, CheckoutSessionView, ClientSecret, ConfirmPaymentRequest, CreateOrderRequest, ErrorDetail,
    ErrorType, HostedSessionRequest, HostedSessionResponse, IDEMPOTENCY_KEY_HEADER, Order, OrderId, PayRequest,
    PaymentResult, StoreId,
};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::i18n::Texts;
use crate::json::{self, Json, Writer};

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

/// `fetch`: a GET, or a POST of `body` (with its content type); `None` when no
/// answer came back.
pub async fn send(url: &str, body: Option<(&str, String)>, header: Option<(&str, &str)>) -> Option<web_sys::Response> {
    let init = web_sys::RequestInit::new();
    let headers = js_sys::Object::new();
    if let Some((content_type, body)) = body {
        init.set_method("POST");
        init.set_body(&JsValue::from(body));
        js_sys::Reflect::set(&headers, &"Content-Type".into(), &content_type.into()).ok()?;
    }
    if let Some((name, value)) = header {
        js_sys::Reflect::set(&headers, &name.into(), &value.into()).ok()?;
    }
    init.set_headers(&headers);
    let promise = web_sys::window()?.fetch_with_str_and_init(url, &init);
    JsFuture::from(promise).await.ok()?.dyn_into().ok()
}

/// The response's body, parsed as JSON.
pub async fn body(response: &web_sys::Response) -> Option<Json> {
    JsFuture::from(response.json().ok()?).await.ok()
}

/// Sends the request and reads the answer: its JSON when the server said yes,
/// its error otherwise. Not generic, so one copy of it serves every call.
async fn call(url: &str, body: Option<String>, header: Option<(&str, &str)>) -> Result<Json, ApiFailure> {
    let response = send(url, body.map(|body| ("application/json", body)), header).await.ok_or(ApiFailure::Network)?;
    let body = self::body(&response).await.ok_or(ApiFailure::Network)?;
    if response.ok() {
        return Ok(body);
    }
    Err(error_detail(&json::get(&body, "error")).map_or(ApiFailure::Network, ApiFailure::Api))
}

/// The answer as the type the caller expects; a body that is not is a network failure.
fn decode<T>(body: Result<Json, ApiFailure>, decode: fn(&Json) -> Option<T>) -> Result<T, ApiFailure> {
    decode(&body?).ok_or(ApiFailure::Network)
}

/// `{"error": {"type", "code", "message", "field"?}}`, every error's shape.
fn error_detail(value: &Json) -> Option<ErrorDetail> {
    let kind = match json::string(value, "type")?.as_str() {
        "invalid_request_error" => ErrorType::InvalidRequestError,
        "authentication_error" => ErrorType::AuthenticationError,
        "idempotency_error" => ErrorType::IdempotencyError,
        "rate_limit_error" => ErrorType::RateLimitError,
        "gateway_error" => ErrorType::GatewayError,
        "api_error" => ErrorType::ApiError,
        _ => return None,
    };
    Some(ErrorDetail {
        kind,
        code: json::string(value, "code")?,
        message: json::string(value, "message")?,
        field: json::opt_string(value, "field")?,
    })
}

fn order_path(order: &OrderId, rest: &str) -> String {
    ["/v1/orders/", order.as_str(), rest].concat()
}

pub async fn checkout_config(store: &StoreId) -> Result<CheckoutConfig, ApiFailure> {
    decode(call(&["/v1/stores/", store.as_str(), "/checkout-config"].concat(), None, None).await, json::checkout_config)
}

pub async fn checkout_session(id: &str) -> Result<CheckoutSessionView, ApiFailure> {
    let id = String::from(js_sys::encode_uri_component(id));
    decode(call(&["/v1/checkout-sessions/", &id].concat(), None, None).await, json::checkout_session)
}

pub async fn create_order(
    store: &StoreId,
    request: &CreateOrderRequest,
    idempotency_key: &str,
) -> Result<Order, ApiFailure> {
    let path = ["/v1/stores/", store.as_str(), "/orders"].concat();
    let answer = call(&path, Some(create_order_body(request)), Some((IDEMPOTENCY_KEY_HEADER, idempotency_key))).await;
    decode(answer, json::order)
}

/// `CreateOrderRequest` as its serde derive writes it.
fn create_order_body(request: &CreateOrderRequest) -> String {
    let mut body = Writer::new();
    if !request.items.is_empty() {
        let items: Vec<String> = request
            .items
            .iter()
            .map(|item| Writer::new().str("sku", &item.sku).num("quantity", item.quantity.into()).end())
            .collect();
        body.raw("items", &["[", &items.join(","), "]"].concat());
    }
    body.some_str("checkout_session", request.checkout_session.as_deref());
    let c = &request.customer;
    let mut customer = Writer::new();
    customer.str("email", &c.email).some_str("name", c.name.as_deref());
    for (key, address) in [("billing_address", &c.billing_address), ("shipping_address", &c.shipping_address)] {
        if let Some(address) = address {
            customer.raw(key, &json::address(address));
        }
    }
    body.raw("customer", &customer.end()).end()
}

pub async fn pay(order: &OrderId, request: &PayRequest) -> Result<PaymentResult, ApiFailure> {
    let body = Writer::new()
        .str("client_secret", request.client_secret.expose())
        .str("token", &request.token)
        .some_str("verification_token", request.verification_token.as_deref())
        .end();
    decode(call(&order_path(order, "/payments"), Some(body), None).await, json::payment_result)
}

pub async fn confirm(order: &OrderId, request: &ConfirmPaymentRequest) -> Result<PaymentResult, ApiFailure> {
    let body = Writer::new()
        .str("client_secret", request.client_secret.expose())
        .some_str("verification_token", request.verification_token.as_deref())
        .end();
    decode(call(&order_path(order, "/payments/confirm"), Some(body), None).await, json::payment_result)
}

pub async fn hosted_session(
    order: &OrderId,
    request: &HostedSessionRequest,
) -> Result<HostedSessionResponse, ApiFailure> {
    let body =
        Writer::new().str("client_secret", request.client_secret.expose()).str("return_url", &request.return_url).end();
    decode(call(&order_path(order, "/hosted-session"), Some(body), None).await, json::hosted_session)
}

/// The order this widget sent to the gateway's hosted page, with its client
/// secret, which the server kept for this browser's widget (a partitioned,
/// HttpOnly cookie of the Paylet origin) while the merchant's page was gone.
pub async fn resume(order: &OrderId) -> Result<Order, ApiFailure> {
    decode(call(&order_path(order, "/resume"), Some(String::new()), None).await, json::order)
}

/// The order as the server knows it, after it asked the gateway about a
/// payment still open (the shopper's return from the gateway's page).
pub async fn refreshed_order(order: &OrderId, secret: &ClientSecret) -> Result<Order, ApiFailure> {
    let secret = String::from(js_sys::encode_uri_component(secret.expose()));
    decode(
        call(&order_path(order, &["?client_secret=", &secret, "&refresh=true"].concat()), None, None).await,
        json::order,
    )
}

/// 128 random bits as hex, from the browser's CSPRNG.
pub fn random_key() -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut bytes = [0u8; 16];
    if let Some(crypto) = web_sys::window().and_then(|w| w.crypto().ok()) {
        let _ = crypto.get_random_values_with_u8_array(&mut bytes);
    }
    bytes.iter().flat_map(|b| [char::from(HEX[usize::from(b >> 4)]), char::from(HEX[usize::from(b & 15)])]).collect()
}

#[cfg(test)]
mod tests {
    use paylet_api::{Address, CustomerInput, LineItemInput};

    use super::*;

    #[test]
    fn request_bodies_are_what_serde_writes() {
        let address = Address {
            line1: "1 \"Main\" St".into(),
            line2: None,
            city: "Zürich".into(),
            state: None,
            postal_code: "8001".into(),
            country: "CH".into(),
        };
        let mut request = CreateOrderRequest {
            items: vec![
                LineItemInput { sku: "TEE".into(), quantity: 2 },
                LineItemInput { sku: "MUG".into(), quantity: 1 },
            ],
            checkout_session: None,
            customer: CustomerInput {
                email: "ada@example.com".into(),
                name: Some("Ada".into()),
                billing_address: Some(address.clone()),
                shipping_address: Some(address),
            },
        };
        let serde = |r: &CreateOrderRequest| serde_json::to_string(r).unwrap();
        assert_eq!(create_order_body(&request), serde(&request));
        request.items.clear();
        request.checkout_session = Some("cs_1".into());
        request.customer.name = None;
        request.customer.shipping_address = None;
        assert_eq!(create_order_body(&request), serde(&request));
    }
}
