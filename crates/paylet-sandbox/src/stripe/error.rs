use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::idempotency::NotStored;
use crate::state::Failure;

/// Stripe's error object, `{"error": {"type", "code", "message", "param", …}}`,
/// with Stripe's HTTP status for each kind. Keys that do not apply are omitted,
/// as Stripe omits them.
#[derive(Debug)]
pub(crate) struct StripeError {
    status: StatusCode,
    fields: Map<String, Value>,
    /// Whether the request got far enough to count for idempotency (Stripe
    /// stores only results of requests that started executing).
    executed: bool,
}

impl StripeError {
    fn new(status: StatusCode, kind: &str, message: impl Into<String>) -> StripeError {
        let mut fields = Map::new();
        fields.insert("type".into(), kind.into());
        fields.insert("message".into(), message.into().into());
        StripeError { status, fields, executed: false }
    }

    fn with(mut self, key: &str, value: impl Into<Value>) -> StripeError {
        self.fields.insert(key.into(), value.into());
        self
    }

    fn code(self, code: &str) -> StripeError {
        let doc = format!("https://stripe.com/docs/error-codes/{}", code.replace('_', "-"));
        self.with("code", code).with("doc_url", doc)
    }

    /// Marks a failure that happened while executing (a decline, a state
    /// conflict): replayed to a retry with the same idempotency key.
    fn executed(mut self) -> StripeError {
        self.executed = true;
        self
    }

    /// The message, for a hosted page to show the shopper.
    pub(crate) fn message(&self) -> String {
        self.fields.get("message").and_then(Value::as_str).unwrap_or("Something went wrong.").to_owned()
    }

    pub(crate) fn param(self, param: &str) -> StripeError {
        self.with("param", param)
    }

    pub(crate) fn invalid_request(code: &str, message: impl Into<String>) -> StripeError {
        StripeError::new(StatusCode::BAD_REQUEST, "invalid_request_error", message).code(code)
    }

    /// An invalid request without a code, as Stripe sends some of them.
    pub(crate) fn invalid(message: impl Into<String>) -> StripeError {
        StripeError::new(StatusCode::BAD_REQUEST, "invalid_request_error", message)
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

    pub(crate) fn not_form_encoded() -> StripeError {
        StripeError::invalid(
            "Invalid request (check that your POST content type is application/x-www-form-urlencoded). \
             If you have any questions, we can help at https://support.stripe.com/.",
        )
    }

    pub(crate) fn too_large() -> StripeError {
        StripeError::new(StatusCode::PAYLOAD_TOO_LARGE, "invalid_request_error", "The request body is too large.")
    }

    pub(crate) fn no_such(object: &str, id: &str, param: &str) -> StripeError {
        StripeError::new(StatusCode::NOT_FOUND, "invalid_request_error", format!("No such {object}: '{id}'"))
            .code("resource_missing")
            .param(param)
    }

    pub(crate) fn unrecognized_url(method: &str, path: &str) -> StripeError {
        StripeError::new(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            format!(
                "Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs or we can help at \
                 https://support.stripe.com/."
            ),
        )
    }

    pub(crate) fn unexpected_state(message: impl Into<String>) -> StripeError {
        StripeError::invalid_request("payment_intent_unexpected_state", message).executed()
    }

    pub(crate) fn no_api_key() -> StripeError {
        StripeError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            "You did not provide an API key. You need to provide your API key in the Authorization header, \
             using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication \
             for details, or we can help at https://support.stripe.com/.",
        )
    }

    pub(crate) fn invalid_api_key(key: &str) -> StripeError {
        // Like Stripe: the key's prefix and last four characters, the rest masked.
        let prefix: String = key.chars().take(8).collect();
        let tail: String = key.chars().skip(key.chars().count().saturating_sub(4).max(8)).collect();
        let hidden = key.chars().count().saturating_sub(prefix.chars().count() + tail.chars().count());
        StripeError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            format!("Invalid API Key provided: {prefix}{}{tail}", "*".repeat(hidden)),
        )
    }

    pub(crate) fn secret_key_required() -> StripeError {
        StripeError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            "This API call cannot be made with a publishable API key. Please use a secret API key. \
             You can find a list of your API keys at https://dashboard.stripe.com/account/apikeys.",
        )
    }

    pub(crate) fn idempotency_mismatch(key: &str) -> StripeError {
        StripeError::new(
            StatusCode::BAD_REQUEST,
            "idempotency_error",
            format!(
                "Keys for idempotent requests can only be used with the same parameters they were first used with. \
                 Try using a key other than '{key}' if you meant to execute a different request."
            ),
        )
    }

    pub(crate) fn idempotency_in_use(key: &str) -> StripeError {
        StripeError::new(
            StatusCode::CONFLICT,
            "invalid_request_error",
            format!(
                "There is currently another in-progress request using this Idempotent Key (that probably means you \
                 submitted twice, and the other request is still going through): {key}. Please try again later."
            ),
        )
        .code("idempotency_key_in_use")
    }

    pub(crate) fn idempotency_key_too_long() -> StripeError {
        StripeError::invalid("Idempotency keys are limited to 255 characters.")
    }

    /// An injected failure: Stripe's generic API error (`charge_fail_next`),
    /// or its rate-limit error (`charge_rate_limit_next`).
    pub(crate) fn injected(failure: Failure) -> StripeError {
        match failure {
            Failure::ServerError => StripeError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "api_error",
                "An unknown error occurred while processing your request. (Injected by the Paylet sandbox.)",
            ),
            Failure::RateLimited => StripeError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "invalid_request_error",
                "Request rate limit exceeded. (Injected by the Paylet sandbox.)",
            )
            .code("rate_limit"),
        }
    }

    /// A card problem (`type: card_error`, HTTP 402).
    pub(crate) fn card(code: &str, message: &str) -> StripeError {
        StripeError::new(StatusCode::PAYMENT_REQUIRED, "card_error", message).code(code)
    }

    /// A decline while charging: replayed on retry, carrying the failed intent.
    pub(crate) fn decline(code: &str, decline_code: Option<&str>, message: &str, intent: Value) -> StripeError {
        let mut e = StripeError::card(code, message).executed().with("payment_intent", intent);
        if let Some(d) = decline_code {
            e = e.with("decline_code", d);
        }
        e
    }
}

impl IntoResponse for StripeError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(json!({ "error": self.fields }))).into_response();
        if !self.executed {
            response.extensions_mut().insert(NotStored);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_keys_show_prefix_and_last_four() {
        let e = StripeError::invalid_api_key("sk_test_abcdefghijkl1234");
        assert_eq!(e.fields["message"], "Invalid API Key provided: sk_test_************1234");
        let e = StripeError::invalid_api_key("short");
        assert_eq!(e.fields["message"], "Invalid API Key provided: short");
    }
}
