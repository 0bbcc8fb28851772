//! Gateway webhooks, read into one shape whatever the style.

use paylet_api::Money;
use paylet_secret::Secret;
use reqwest::header::HeaderMap;

use crate::PaymentNews;

/// A webhook as it arrived.
#[derive(Debug, Clone, Copy)]
pub struct WebhookRequest<'a> {
    pub headers: &'a HeaderMap,
    /// The exact bytes received: signatures cover them, not a re-serialization.
    pub body: &'a [u8],
    /// The URL the gateway posted to, exactly as registered (Square signs it).
    pub url: &'a str,
    /// The signing secrets in force: two while one replaces the other.
    pub secrets: &'a [&'a Secret],
    /// How far a signed timestamp may be from `now` (Unix seconds).
    pub tolerance_secs: i64,
    pub now: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("the signature does not verify: {0}")]
    Signature(#[from] paylet_webhook::VerifyError),
    #[error("the event could not be read: {0}")]
    Malformed(String),
}

/// One event from a gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayEvent {
    /// Unique per event at the gateway: the key that makes a redelivery a no-op.
    pub id: String,
    /// The gateway's own name for it (`payment_intent.succeeded`, `payment.updated`).
    pub kind: String,
    pub change: Change,
}

/// What an event says happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// What became of a payment, with whatever ties it to an order: our
    /// reference (the order id) and the hosted session it was made through.
    Payment { payment_id: String, reference: Option<String>, hosted_session: Option<String>, news: PaymentNews },
    /// A hosted page was paid or expired.
    Hosted { session_id: String, reference: Option<String>, news: PaymentNews },
    /// Refunds of a payment and where each stands.
    Refunds { payment_id: String, refunds: Vec<RefundUpdate> },
    /// A payment's refunds changed, but the event does not list them (a
    /// Stripe `charge.refunded` since API version 2022-11-15): ask the gateway.
    RefundsChanged { payment_id: String },
    /// Nothing Paylet acts on.
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundUpdate {
    pub refund_id: String,
    pub amount: Money,
    pub state: RefundState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundState {
    Pending,
    Succeeded,
    Failed,
}

impl RefundState {
    pub const fn as_str(self) -> &'static str {
        match self {
            RefundState::Pending => "pending",
            RefundState::Succeeded => "succeeded",
            RefundState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<RefundState> {
        [RefundState::Pending, RefundState::Succeeded, RefundState::Failed].into_iter().find(|r| r.as_str() == s)
    }
}

/// The header's value as text, or empty.
pub(crate) fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

pub(crate) fn malformed(e: impl std::fmt::Display) -> WebhookError {
    WebhookError::Malformed(e.to_string())
}
