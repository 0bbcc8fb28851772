use serde::{Deserialize, Serialize};

/// Every error the server returns has this shape:
/// `{ "error": { "type", "code", "message", "field"? } }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    #[serde(rename = "type")]
    pub kind: ErrorType,
    /// Stable, machine-readable reason, e.g. `unknown_sku`.
    pub code: String,
    /// A sentence for the developer (or, for card errors, the shopper).
    pub message: String,
    /// The request field at fault, as a dotted path (`items[0].quantity`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorType {
    /// The request is wrong; fix it before retrying.
    InvalidRequestError,
    AuthenticationError,
    /// An idempotency key was reused with another request, or is still in flight.
    IdempotencyError,
    RateLimitError,
    /// The gateway could not be reached or answered unexpectedly; retrying may work.
    GatewayError,
    /// Our fault.
    ApiError,
}
