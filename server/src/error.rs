//! The server's one error type. Domain functions return it; its `IntoResponse`
//! is the only place an error becomes an HTTP status and a JSON body. Server-side
//! failures are logged here with their detail, and the client gets a stable
//! message without it.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use paylet_api::{ErrorBody, ErrorDetail, ErrorType};
use paylet_gateway::GatewayError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A well-formed request with a wrong value: 422, naming the field.
    #[error("{message}")]
    Invalid { code: &'static str, message: String, field: Option<String> },
    /// A request the endpoint cannot read at all (malformed JSON, missing header): 400.
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    #[error("expected a JSON body with `Content-Type: application/json`")]
    UnsupportedMediaType,
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("the request headers are too large")]
    HeadersTooLarge,
    #[error("this route does not take that method")]
    MethodNotAllowed,
    #[error("no such {0}")]
    NotFound(&'static str),
    #[error("invalid or missing admin API key")]
    Unauthorized,
    /// The request conflicts with the resource's state (e.g. paying a canceled order): 409.
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// Over an abuse limit: 429, with `Retry-After` in seconds.
    #[error("{message}")]
    RateLimited { message: String, retry_after: u64 },
    #[error(transparent)]
    Gateway(#[from] GatewayError),
    #[error("configuration error: {0}")]
    Config(String),
    #[error(transparent)]
    Keys(#[from] paylet_secret::KeyError),
    #[error("database error")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("I/O error")]
    Io(#[from] std::io::Error),
}

impl Error {
    pub fn invalid(code: &'static str, field: impl Into<String>, message: impl Into<String>) -> Error {
        Error::Invalid { code, message: message.into(), field: Some(field.into()) }
    }

    fn status(&self) -> StatusCode {
        match self {
            Error::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Error::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Error::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Error::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Error::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::Unauthorized => StatusCode::UNAUTHORIZED,
            Error::Conflict { .. } => StatusCode::CONFLICT,
            Error::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            // Still unknown whether it charged: the shopper may retry safely.
            Error::Gateway(GatewayError::Timeout | GatewayError::InProgress) => StatusCode::GATEWAY_TIMEOUT,
            Error::Gateway(GatewayError::Rejected { .. }) => StatusCode::UNPROCESSABLE_ENTITY,
            Error::Gateway(_) => StatusCode::BAD_GATEWAY,
            Error::Config(_) | Error::Keys(_) | Error::Database(_) | Error::Migrate(_) | Error::Io(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    fn detail(&self) -> ErrorDetail {
        let detail = |kind, code: &str, message: String, field: Option<String>| ErrorDetail {
            kind,
            code: code.to_owned(),
            message,
            field,
        };
        match self {
            Error::Invalid { code, message, field } => {
                let kind = if code.starts_with("idempotency") {
                    ErrorType::IdempotencyError
                } else {
                    ErrorType::InvalidRequestError
                };
                detail(kind, code, message.clone(), field.clone())
            }
            Error::BadRequest { code, message } => detail(ErrorType::InvalidRequestError, code, message.clone(), None),
            Error::UnsupportedMediaType => {
                detail(ErrorType::InvalidRequestError, "unsupported_media_type", self.to_string(), None)
            }
            Error::MethodNotAllowed => {
                detail(ErrorType::InvalidRequestError, "method_not_allowed", self.to_string(), None)
            }
            Error::PayloadTooLarge => {
                detail(ErrorType::InvalidRequestError, "payload_too_large", self.to_string(), None)
            }
            Error::HeadersTooLarge => {
                detail(ErrorType::InvalidRequestError, "headers_too_large", self.to_string(), None)
            }
            Error::NotFound(what) => {
                detail(ErrorType::InvalidRequestError, "not_found", format!("No such {what}."), None)
            }
            Error::Unauthorized => detail(
                ErrorType::AuthenticationError,
                "invalid_api_key",
                "Send a valid admin API key as `Authorization: Bearer plk_…`.".into(),
                None,
            ),
            Error::Conflict { code, message } if code.starts_with("idempotency") => {
                detail(ErrorType::IdempotencyError, code, message.clone(), None)
            }
            Error::Conflict { code, message } => detail(ErrorType::InvalidRequestError, code, message.clone(), None),
            Error::RateLimited { message, .. } => {
                detail(ErrorType::RateLimitError, "rate_limited", message.clone(), None)
            }
            Error::Gateway(GatewayError::Timeout | GatewayError::InProgress) => detail(
                ErrorType::GatewayError,
                "gateway_timeout",
                "The payment gateway did not answer in time. Please try again; you will not be charged twice.".into(),
                None,
            ),
            Error::Gateway(GatewayError::Rejected { .. }) => detail(
                ErrorType::InvalidRequestError,
                "payment_rejected",
                "The gateway could not use these card details. Please enter them again.".into(),
                None,
            ),
            Error::Gateway(_) => detail(
                ErrorType::GatewayError,
                "gateway_unavailable",
                "The payment gateway is not available right now. Please try again.".into(),
                None,
            ),
            Error::Config(_) | Error::Keys(_) | Error::Database(_) | Error::Migrate(_) | Error::Io(_) => {
                detail(ErrorType::ApiError, "internal_error", "Something went wrong on our side.".into(), None)
            }
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            // `{:?}` of these variants holds no request data: sqlx and reqwest
            // errors name the failing operation, not the values bound to it.
            tracing::error!(error = ?self, "request failed");
        } else if let Error::Gateway(e) = &self {
            tracing::warn!(error = %e, "gateway rejected a request");
        }
        let mut response = (status, Json(ErrorBody { error: self.detail() })).into_response();
        let headers = response.headers_mut();
        match self {
            Error::Unauthorized => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            Error::RateLimited { retry_after, .. } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
            }
            _ => {}
        }
        response
    }
}
