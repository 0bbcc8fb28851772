//! One trait, [`Gateway`], for everything Paylet asks of a payment gateway, and
//! one module per wire protocol. A base URL points an adapter at the sandbox,
//! at the real service, or at any gateway that speaks the same protocol.

mod decline;
pub mod stripe;

use std::time::Duration;

use async_trait::async_trait;
use paylet_api::{GatewayStyle, Money};

pub use decline::DeclineCode;

/// A request to charge a single-use card token.
#[derive(Debug, Clone)]
pub struct ChargeRequest<'a> {
    pub amount: Money,
    /// The browser's token: `tok_…`/`pm_…` (Stripe style) or `cnon:…` (Square style).
    pub token: &'a str,
    /// Sent as the gateway's idempotency key: retrying with the same key never
    /// charges twice.
    pub idempotency_key: &'a str,
    /// Our reference for the payment (the order id), stored at the gateway.
    pub reference: &'a str,
    /// Where the gateway sends the shopper back after a 3-D Secure challenge.
    pub return_url: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChargeOutcome {
    Succeeded { payment_id: String },
    Declined { payment_id: Option<String>, code: DeclineCode },
    RequiresAction { payment_id: String, redirect_url: String },
}

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("the gateway did not answer in time")]
    Timeout,
    #[error("could not reach the gateway")]
    Unreachable(#[source] reqwest::Error),
    #[error("the gateway failed with HTTP {status}")]
    ServerError { status: u16 },
    #[error("the gateway rejected our credentials")]
    Authentication,
    #[error("the gateway rejected the request ({code}): {message}")]
    Rejected { code: String, message: String },
    #[error("unexpected response from the gateway: {0}")]
    Protocol(String),
}

impl GatewayError {
    fn from_reqwest(e: reqwest::Error) -> GatewayError {
        if e.is_timeout() { GatewayError::Timeout } else { GatewayError::Unreachable(e) }
    }
}

#[async_trait]
pub trait Gateway: Send + Sync {
    fn style(&self) -> GatewayStyle;

    async fn charge(&self, request: ChargeRequest<'_>) -> Result<ChargeOutcome, GatewayError>;
}

/// The HTTP client every adapter uses: rustls, bounded timeouts.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(30))
        .user_agent(concat!("paylet/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}
