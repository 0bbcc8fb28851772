//! The server's one error type. Domain functions return it; its `IntoResponse`
//! is the only place an error becomes an HTTP status and a JSON body. Server-side
//! failures are logged here with their detail, and the client gets a stable
//! message without it.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use paylet_api::{ErrorBody, ErrorDetail, ErrorType};
use paylet_gateway::GatewayError;

use crate::db::Outage;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A well-formed request with a wrong value: 422, naming the field.
    #[error("{message}")]
    Invalid { code: &'static str, message: String, field: Option<String> },
    /// A request the endpoint cannot read at all (malformed JSON, missing header): 400.
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    /// A body of another media type than the endpoint reads (its name): 415.
    #[error("expected a body with `Content-Type: {0}`")]
    UnsupportedMediaType(&'static str),
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
    /// The operator's setting, command or file is wrong.
    #[error("configuration error: {0}")]
    Config(String),
    /// Stored data that does not read back as it was written: a bug, or the
    /// database edited by hand.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    /// A fault in the server itself: what cannot happen did.
    #[error("internal error: {0}")]
    Internal(String),
    #[error(transparent)]
    Keys(#[from] paylet_secret::KeyError),
    #[error("database error")]
    Database(#[source] sqlx::Error),
    /// The database cannot be reached, or another process holds it locked past
    /// the busy timeout: 503 with `Retry-After`. The request wrote nothing.
    #[error("the database is unavailable: {0}")]
    DatabaseUnavailable(String),
    /// The disk under the database is full: 507. The request wrote nothing;
    /// reads still work.
    #[error("the database's disk is full: {0}")]
    StorageFull(String),
    #[error("database migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("I/O error")]
    Io(#[from] std::io::Error),
}

/// How long a client is asked to wait after a 503 for an unavailable
/// database: a lock held by another process or a database restarting is
/// usually over within seconds.
const DATABASE_RETRY_AFTER_SECS: u64 = 2;

impl From<sqlx::Error> for Error {
    /// An outage of the database (unreachable, locked, disk full) is told
    /// apart from a bug, so the client hears "try again", not a bare 500.
    fn from(e: sqlx::Error) -> Error {
        if Outage::of(&e).is_some() {
            return Error::shared(&e);
        }
        // Postgres text cannot hold NUL, which JSON can carry as `\u0000`:
        // the client's text, not our bug. Nothing of the request is written.
        if let sqlx::Error::Database(db) = &e
            && db.code().as_deref() == Some(PG_BAD_CHARACTER)
        {
            return Error::BadRequest {
                code: "invalid_text",
                message: "Text may not contain NUL (\\u0000) characters.".into(),
            };
        }
        Error::Database(e)
    }
}

/// Postgres's `character_not_in_repertoire`, as for a NUL in text.
const PG_BAD_CHARACTER: &str = "22021";

impl Error {
    /// The error for each of several callers whose writes shared one failed
    /// commit: an outage keeps its kind, anything else is a database error
    /// carrying the commit's failure as text.
    pub(crate) fn shared(e: &sqlx::Error) -> Error {
        match Outage::of(e) {
            Some(Outage::Unavailable) => Error::DatabaseUnavailable(e.to_string()),
            Some(Outage::StorageFull) => Error::StorageFull(e.to_string()),
            None => Error::Database(sqlx::Error::Protocol(format!("commit failed: {e}"))),
        }
    }

    pub fn invalid(code: &'static str, field: impl Into<String>, message: impl Into<String>) -> Error {
        Error::Invalid { code, message: message.into(), field: Some(field.into()) }
    }

    fn status(&self) -> StatusCode {
        match self {
            Error::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Error::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Error::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
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
            Error::DatabaseUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::StorageFull(_) => StatusCode::INSUFFICIENT_STORAGE,
            // Everything else is a fault on this side: Config, Corrupt,
            // Internal, Keys, Database, Migrate, Io.
            _ => StatusCode::INTERNAL_SERVER_ERROR,
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
            Error::UnsupportedMediaType(_) => {
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
            // The store's gateway URL is wrong: retrying will not help, and
            // the shopper can do nothing about it.
            Error::Gateway(GatewayError::NotOffered { .. }) => detail(
                ErrorType::GatewayError,
                "gateway_misconfigured",
                "This store cannot take payments right now: its payment gateway is not set up correctly.".into(),
                None,
            ),
            Error::Gateway(_) => detail(
                ErrorType::GatewayError,
                "gateway_unavailable",
                "The payment gateway is not available right now. Please try again.".into(),
                None,
            ),
            Error::DatabaseUnavailable(_) => detail(
                ErrorType::ApiError,
                "database_unavailable",
                "The service is briefly unavailable. Please try again in a moment.".into(),
                None,
            ),
            Error::StorageFull(_) => detail(
                ErrorType::ApiError,
                "storage_full",
                "The service cannot save anything right now. Please try again later.".into(),
                None,
            ),
            // A fault on this side (see `status`): none of its detail goes out.
            _ => detail(ErrorType::ApiError, "internal_error", "Something went wrong on our side.".into(), None),
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
            Error::DatabaseUnavailable(_) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(DATABASE_RETRY_AFTER_SECS));
            }
            _ => {}
        }
        response
    }
}
