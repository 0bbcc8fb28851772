use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::cards::{CardProblem, Decline};
use crate::idempotency::NotStored;
use crate::state::Failure;

/// Square's error response: `{"errors": [{"category", "code", "detail", "field"}]}`,
/// with the FAILED `payment` alongside when a charge was declined.
#[derive(Debug)]
pub(crate) struct SquareError {
    status: StatusCode,
    category: &'static str,
    code: &'static str,
    detail: String,
    field: Option<String>,
    payment: Option<Value>,
    executed: bool,
}

impl SquareError {
    fn new(status: StatusCode, category: &'static str, code: &'static str, detail: impl Into<String>) -> SquareError {
        SquareError { status, category, code, detail: detail.into(), field: None, payment: None, executed: false }
    }

    pub(crate) fn field(mut self, field: impl Into<String>) -> SquareError {
        self.field = Some(field.into());
        self
    }

    pub(crate) fn detail(&self) -> &str {
        &self.detail
    }

    pub(crate) fn code(&self) -> &'static str {
        self.code
    }

    /// A bad request (`INVALID_REQUEST_ERROR`, HTTP 400).
    pub(crate) fn invalid(code: &'static str, detail: impl Into<String>) -> SquareError {
        SquareError::new(StatusCode::BAD_REQUEST, "INVALID_REQUEST_ERROR", code, detail)
    }

    pub(crate) fn not_found(what: &str, id: &str) -> SquareError {
        SquareError::new(
            StatusCode::NOT_FOUND,
            "INVALID_REQUEST_ERROR",
            "NOT_FOUND",
            format!("Could not find {what} with id: {id}"),
        )
    }

    pub(crate) fn unrecognized(method: &str, path: &str) -> SquareError {
        SquareError::new(
            StatusCode::NOT_FOUND,
            "INVALID_REQUEST_ERROR",
            "NOT_FOUND",
            format!("API endpoint for URL path `{path}` and HTTP method `{method}` is not found."),
        )
    }

    pub(crate) fn malformed_authorization() -> SquareError {
        SquareError::new(
            StatusCode::UNAUTHORIZED,
            "AUTHENTICATION_ERROR",
            "UNAUTHORIZED",
            "The `Authorization` http header of your request was malformed. The header value is expected to be of \
             the format \"Bearer TOKEN\" (without quotation marks), where TOKEN is to be replaced with your access \
             token (e.g. \"Bearer ABC123def456GHI789jkl0\").",
        )
    }

    pub(crate) fn unauthorized() -> SquareError {
        SquareError::new(
            StatusCode::UNAUTHORIZED,
            "AUTHENTICATION_ERROR",
            "UNAUTHORIZED",
            "This request could not be authorized.",
        )
    }

    pub(crate) fn too_large() -> SquareError {
        SquareError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "INVALID_REQUEST_ERROR",
            "BAD_REQUEST",
            "The request body is too large.",
        )
    }

    pub(crate) fn idempotency_reused() -> SquareError {
        SquareError::invalid(
            "IDEMPOTENCY_KEY_REUSED",
            "The idempotency key can only be retried with the same request data.",
        )
        .field("idempotency_key")
    }

    pub(crate) fn idempotency_in_progress() -> SquareError {
        SquareError::new(
            StatusCode::CONFLICT,
            "INVALID_REQUEST_ERROR",
            "IDEMPOTENCY_KEY_REUSED",
            "Another request with this idempotency key is still in progress.",
        )
        .field("idempotency_key")
    }

    /// An injected failure (`charge_fail_next`, `charge_rate_limit_next`).
    pub(crate) fn injected(failure: Failure) -> SquareError {
        match failure {
            Failure::ServerError => SquareError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "API_ERROR",
                "INTERNAL_SERVER_ERROR",
                "An internal error has occurred. (Injected by the Paylet sandbox.)",
            ),
            Failure::RateLimited => SquareError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "RATE_LIMIT_ERROR",
                "RATE_LIMITED",
                "Too many requests. (Injected by the Paylet sandbox.)",
            ),
        }
    }

    /// A request that ran and failed against the state of things (a refund too
    /// large, a payment in the wrong state): replayed for the same key.
    pub(crate) fn executed(mut self) -> SquareError {
        self.executed = true;
        self
    }

    pub(crate) fn refund(code: &'static str, detail: impl Into<String>) -> SquareError {
        SquareError::new(StatusCode::BAD_REQUEST, "REFUND_ERROR", code, detail).executed()
    }

    /// A decline (`PAYMENT_METHOD_ERROR`, HTTP 400 as Square sends it).
    pub(crate) fn declined(code: &'static str) -> SquareError {
        SquareError::new(
            StatusCode::BAD_REQUEST,
            "PAYMENT_METHOD_ERROR",
            code,
            format!("Authorization error: '{code}'"),
        )
        .executed()
    }

    pub(crate) fn with_payment(mut self, payment: Value) -> SquareError {
        self.payment = Some(payment);
        self
    }

    pub(crate) fn card(problem: CardProblem) -> SquareError {
        let (code, detail, field) = match problem {
            CardProblem::InvalidNumber | CardProblem::IncorrectNumber => {
                ("INVALID_CARD", "Invalid card number.", "card.number")
            }
            CardProblem::InvalidMonth => ("INVALID_EXPIRATION", "Invalid card expiration month.", "card.exp_month"),
            CardProblem::InvalidYear => ("INVALID_EXPIRATION", "Invalid card expiration year.", "card.exp_year"),
            CardProblem::InvalidCvc => ("INVALID_CARD_DATA", "Invalid card security code.", "card.cvv"),
        };
        SquareError::new(StatusCode::BAD_REQUEST, "PAYMENT_METHOD_ERROR", code, detail).field(field)
    }

    /// Turns a JSON body error into Square's field-level codes.
    pub(crate) fn from_json(error: serde_path_to_error::Error<serde_json::Error>) -> SquareError {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if !inner.is_data() {
            return SquareError::invalid("BAD_REQUEST", format!("The request body is not valid JSON: {inner}."));
        }
        let message = inner.to_string();
        let quoted = message.split('`').nth(1).unwrap_or_default();
        let at = |name: &str| if path == "." || path.is_empty() { name.to_owned() } else { format!("{path}.{name}") };
        let (code, detail, field) = if message.starts_with("missing field") {
            ("MISSING_REQUIRED_PARAMETER", "Field must be set".to_owned(), at(quoted))
        } else if message.starts_with("unknown field") {
            // The path already ends at the unknown field.
            ("BAD_REQUEST", format!("Unrecognized field `{quoted}`."), path)
        } else if message.contains("expected a string") {
            ("EXPECTED_STRING", "Expected a string value.".to_owned(), path)
        } else if ["expected i64", "expected u32", "expected u64"].iter().any(|e| message.contains(e)) {
            ("EXPECTED_INTEGER", "Expected an integer value.".to_owned(), path)
        } else if message.contains("expected a boolean") {
            ("EXPECTED_BOOLEAN", "Expected a boolean value.".to_owned(), path)
        } else if message.contains("expected a sequence") {
            ("EXPECTED_ARRAY", "Expected an array.".to_owned(), path)
        } else {
            ("EXPECTED_OBJECT", format!("Invalid value: {message}."), path)
        };
        SquareError::invalid(code, detail).field(field)
    }
}

/// Square's code for each of the sandbox's declines.
pub(crate) fn decline_code(decline: Decline) -> &'static str {
    match decline {
        Decline::Generic => "GENERIC_DECLINE",
        Decline::InsufficientFunds => "INSUFFICIENT_FUNDS",
        Decline::LostCard | Decline::StolenCard => "CARD_DECLINED_CALL_ISSUER",
        Decline::ExpiredCard => "CARD_EXPIRED",
        Decline::IncorrectCvc => "CVV_FAILURE",
        Decline::ProcessingError => "TEMPORARY_ERROR",
        Decline::PostalCode => "ADDRESS_VERIFICATION_FAILURE",
        Decline::InvalidExpiration => "INVALID_EXPIRATION",
    }
}

impl IntoResponse for SquareError {
    fn into_response(self) -> Response {
        let mut error = json!({ "category": self.category, "code": self.code, "detail": self.detail });
        if let Some(field) = self.field.filter(|f| !f.is_empty()) {
            error["field"] = field.into();
        }
        let mut body = json!({ "errors": [error] });
        if let Some(payment) = self.payment {
            body["payment"] = payment;
        }
        let mut response = (self.status, Json(body)).into_response();
        if !self.executed {
            response.extensions_mut().insert(NotStored);
        }
        response
    }
}
