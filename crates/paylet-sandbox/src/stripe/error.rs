use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

/// Stripe's error object: `{"error": {"type", "code", "message", "param", …}}`
/// with Stripe's HTTP status for each kind.
#[derive(Debug)]
pub(crate) struct StripeError {
    status: StatusCode,
    fields: Map<String, Value>,
}

impl StripeError {
    fn new(status: StatusCode, kind: &str, message: impl Into<String>) -> StripeError {
        let mut fields = Map::new();
        fields.insert("type".into(), kind.into());
        fields.insert("message".into(), message.into().into());
        StripeError { status, fields }
    }

    fn with(mut self, key: &str, value: impl Into<Value>) -> StripeError {
        self.fields.insert(key.into(), value.into());
        self
    }

    fn code(self, code: &str) -> StripeError {
        let doc = format!("https://stripe.com/docs/error-codes/{}", code.replace('_', "-"));
        self.with("code", code).with("doc_url", doc)
    }

    pub(crate) fn param(self, param: &str) -> StripeError {
        self.with("param", param)
    }

    pub(crate) fn invalid_request(code: &str, message: impl Into<String>) -> StripeError {
        StripeError::new(StatusCode::BAD_REQUEST, "invalid_request_error", message).code(code)
    }

    pub(crate) fn missing_param(param: &str) -> StripeError {
        StripeError::invalid_request("parameter_missing", format!("Missing required param: {param}.")).param(param)
    }

    pub(crate) fn unknown_param(param: &str) -> StripeError {
        StripeError::invalid_request("parameter_unknown", format!("Received unknown parameter: {param}")).param(param)
    }

    pub(crate) fn invalid_integer(param: &str, value: &str) -> StripeError {
        StripeError::invalid_request("parameter_invalid_integer", format!("Invalid integer: {value}")).param(param)
    }

    pub(crate) fn no_such(object: &str, id: &str, param: &str) -> StripeError {
        StripeError::new(StatusCode::NOT_FOUND, "invalid_request_error", format!("No such {object}: '{id}'"))
            .code("resource_missing")
            .param(param)
    }

    pub(crate) fn no_api_key() -> StripeError {
        StripeError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            "You did not provide an API key. You need to provide your API key in the Authorization header, \
             using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
        )
    }

    pub(crate) fn invalid_api_key(key: &str) -> StripeError {
        // Like Stripe, show only the key's prefix and last four characters.
        let tail: String = key.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect();
        let prefix: String = key.chars().take(8).collect();
        StripeError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            format!("Invalid API Key provided: {prefix}****{tail}"),
        )
        .code("api_key_invalid")
    }

    pub(crate) fn secret_key_required() -> StripeError {
        StripeError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            "This API call cannot be made with a publishable API key. Please use a secret API key.",
        )
        .code("secret_key_required")
    }

    pub(crate) fn publishable_key_required() -> StripeError {
        StripeError::new(
            StatusCode::FORBIDDEN,
            "invalid_request_error",
            "This sandbox accepts raw card data only from a publishable key, as a browser would send it.",
        )
        .code("publishable_key_required")
    }

    /// A card problem (`type: card_error`, HTTP 402).
    pub(crate) fn card(code: &str, message: &str) -> StripeError {
        StripeError::new(StatusCode::PAYMENT_REQUIRED, "card_error", message).code(code)
    }

    pub(crate) fn decline_code(self, decline_code: &str) -> StripeError {
        self.with("decline_code", decline_code)
    }

    pub(crate) fn payment_intent(self, intent: Value) -> StripeError {
        self.with("payment_intent", intent)
    }
}

impl IntoResponse for StripeError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "error": self.fields }))).into_response()
    }
}
