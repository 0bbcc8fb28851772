//! One trait, [`Gateway`], for everything Paylet asks of a payment gateway, and
//! one module per wire protocol. A base URL points an adapter at the sandbox,
//! at the real service, or at any gateway that speaks the same protocol.

mod decline;
mod event;
mod http;
pub mod square;
pub mod stripe;

use std::time::Duration;

use async_trait::async_trait;
use paylet_api::{GatewayStyle, Money};
use paylet_secret::Secret;

pub use decline::DeclineCode;
pub use event::{Change, GatewayEvent, RefundState, RefundUpdate, WebhookError, WebhookRequest};
pub use http::longest_call;

/// A request to charge a single-use card token.
#[derive(Debug, Clone)]
pub struct ChargeRequest<'a> {
    pub amount: Money,
    /// The browser's token: `tok_…`/`pm_…` (Stripe style) or `cnon:…` (Square style).
    pub token: &'a str,
    /// Sent as the gateway's idempotency key: retrying with the same key never
    /// charges twice.
    pub idempotency_key: &'a str,
    /// Our reference for the payment (the order id), stored at the gateway and
    /// sent back in its events.
    pub reference: &'a str,
    /// Where the gateway sends the shopper after a 3-D Secure challenge.
    pub return_url: &'a str,
    /// The shopper's browser runs the gateway's own SDK (`gateway` card
    /// fields), which can take the gateway's next actions itself.
    pub browser_sdk: bool,
    /// Square style: the buyer verification the Web Payments SDK's
    /// `verifyBuyer` gave before the charge.
    pub verification_token: Option<&'a str>,
}

/// Finishing a charge that answered [`PaymentNews::RequiresAction`], once
/// the shopper is back from the challenge.
#[derive(Debug, Clone)]
pub struct ConfirmRequest<'a> {
    /// The charge as first made.
    pub charge: ChargeRequest<'a>,
    /// The gateway's payment, when the first answer named one.
    pub payment_id: Option<&'a str>,
    /// What the challenge gave the shopper to bring back (Square style).
    pub verification_token: Option<&'a str>,
}

/// What a gateway says of a payment, however it said it: its answer to a
/// charge or a confirmation, a status report, where a hosted page stands, an
/// event. One type, so that a new state is added in one place and the
/// compiler shows everything that must handle it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentNews {
    Succeeded {
        payment_id: String,
    },
    Declined {
        payment_id: Option<String>,
        code: DeclineCode,
    },
    /// The shopper must pass a challenge before it settles. An answer to a
    /// charge says how (`next`); a status report or an event does not.
    RequiresAction {
        payment_id: Option<String>,
        next: Option<ShopperAction>,
    },
    /// Nothing settled yet: the payment is processing, or its hosted page is open.
    Pending,
    /// It can no longer succeed: canceled at the gateway, or its page expired.
    Ended,
}

/// How the shopper passes a challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShopperAction {
    /// At the challenge's page, shown in the widget's frame.
    Redirect(String),
    /// Stripe style, with the gateway's SDK in the browser: Stripe.js takes
    /// the next action (`handleNextAction`) with the PaymentIntent's client
    /// secret, which is for that browser alone.
    Sdk { client_secret: Secret },
}

/// A gateway's browser SDK, which mounts its own card inputs (in frames on
/// its own origin) inside the Paylet frame: the script the widget loads for
/// `gateway` card fields, and all the widget page's policy must let it do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserSdk {
    /// What it is, for people reading an inventory of scripts.
    pub name: String,
    pub script_url: String,
    /// Where its scripts load from (`script-src`).
    pub script_origins: Vec<String>,
    /// Where its card inputs and challenge frames load from (`frame-src`).
    pub frame_origins: Vec<String>,
    /// What it calls (`connect-src`).
    pub connect_origins: Vec<String>,
    /// The gateway's own SDK for its real API, not a stand-in such as the sandbox's.
    pub official: bool,
}

impl BrowserSdk {
    /// A stand-in served by the gateway at `origin` itself (the sandbox), at `path`.
    fn stand_in(origin: &str, path: &str) -> BrowserSdk {
        BrowserSdk {
            name: format!("a stand-in served by the gateway at {origin}"),
            script_url: format!("{origin}{path}"),
            script_origins: vec![origin.to_owned()],
            frame_origins: vec![origin.to_owned()],
            connect_origins: vec![origin.to_owned()],
            official: false,
        }
    }

    fn official(name: &str, script_url: &str, script: &[&str], frame: &[&str], connect: &[&str]) -> BrowserSdk {
        let owned = |origins: &[&str]| origins.iter().map(|o| (*o).to_owned()).collect();
        BrowserSdk {
            name: name.to_owned(),
            script_url: script_url.to_owned(),
            script_origins: owned(script),
            frame_origins: owned(frame),
            connect_origins: owned(connect),
            official: true,
        }
    }
}

/// The gateways' own browser SDKs, one per real API: the third-party scripts
/// a widget page may load, each authorised by its origins.
pub fn official_browser_sdks() -> Vec<BrowserSdk> {
    let apis = [
        (GatewayStyle::Stripe, stripe::API),
        (GatewayStyle::Square, square::API),
        (GatewayStyle::Square, square::SANDBOX_API),
    ];
    apis.into_iter().filter_map(|(style, api)| browser_sdk(style, api)).collect()
}

/// The browser SDK of the `style` gateway whose API is at `api_base`, told
/// apart by the API's origin (so `https://API.stripe.com/v1/` is Stripe's
/// too); `None` when `api_base` is no URL.
pub fn browser_sdk(style: GatewayStyle, api_base: &str) -> Option<BrowserSdk> {
    let origin = reqwest::Url::parse(api_base).ok()?.origin().ascii_serialization();
    if origin == "null" {
        return None;
    }
    Some(match style {
        GatewayStyle::Stripe => stripe::browser_sdk(&origin),
        GatewayStyle::Square => square::browser_sdk(&origin),
    })
}

/// A hosted payment page for an order.
#[derive(Debug, Clone)]
pub struct HostedRequest<'a> {
    pub lines: &'a [HostedLine],
    pub total: Money,
    pub reference: &'a str,
    pub idempotency_key: &'a str,
    pub customer_email: Option<&'a str>,
    /// Where the shopper goes after paying, and after giving up.
    pub success_url: &'a str,
    pub cancel_url: &'a str,
}

#[derive(Debug, Clone)]
pub struct HostedLine {
    pub name: String,
    pub quantity: u32,
    pub unit_price: Money,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostedSession {
    pub id: String,
    pub url: String,
    /// Square style: the payment link, which closing the page deletes (`id`
    /// is the link's order, which the payment's events name).
    pub link_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct RefundRequest<'a> {
    pub payment_id: &'a str,
    pub amount: Money,
    pub idempotency_key: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundOutcome {
    pub refund_id: String,
    pub state: RefundState,
}

/// Where the gateway sends its events for a store, and the secret that signs them.
#[derive(Debug, Clone)]
pub struct WebhookEndpoint {
    pub id: String,
    pub secret: Secret,
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
    #[error("the gateway is still processing the same request")]
    InProgress,
    #[error("the gateway's rate limit for this account is used up for now")]
    RateLimited,
    #[error("the gateway rejected the request ({code}): {message}")]
    Rejected { code: String, message: String },
    #[error("unexpected response from the gateway: {0}")]
    Protocol(String),
    /// A 4xx whose body is not the gateway's API error: the URL reaches
    /// something that does not offer this endpoint (a wrong gateway URL, a
    /// proxy, a mock without it). Nothing was done there.
    #[error(
        "`{path}` at the gateway answered HTTP {status} with no API error: the gateway URL does not offer it \
         (is the URL right, and is it this gateway's API?)"
    )]
    NotOffered { status: u16, path: String },
}

impl GatewayError {
    /// Whether the request may or may not have taken effect: a retry with the
    /// same idempotency key will tell.
    pub fn is_indeterminate(&self) -> bool {
        matches!(
            self,
            GatewayError::Timeout
                | GatewayError::Unreachable(_)
                | GatewayError::ServerError { .. }
                | GatewayError::InProgress
                | GatewayError::RateLimited
        )
    }
}

#[async_trait]
pub trait Gateway: Send + Sync {
    fn style(&self) -> GatewayStyle;

    async fn charge(&self, request: ChargeRequest<'_>) -> Result<PaymentNews, GatewayError>;

    /// The charge's final answer after its challenge.
    async fn confirm(&self, request: ConfirmRequest<'_>) -> Result<PaymentNews, GatewayError>;

    /// Where a payment stands now (for reconciliation). A payment waiting for
    /// its challenge is `RequiresAction` with no `next`.
    async fn payment(&self, payment_id: &str) -> Result<PaymentNews, GatewayError>;

    async fn create_hosted(&self, request: HostedRequest<'_>) -> Result<HostedSession, GatewayError>;

    /// Where a hosted page stands: `Pending` while it is open, `Succeeded`
    /// once paid, `Ended` once expired.
    async fn hosted_status(&self, session_id: &str) -> Result<PaymentNews, GatewayError>;

    /// Closes a hosted page so it can take no payment any more; where it
    /// stands after: `Ended`, or `Succeeded` if the shopper paid first. Only
    /// an answer other than `Pending` means the page can no longer take money.
    async fn end_hosted(&self, page: &HostedSession) -> Result<PaymentNews, GatewayError>;

    /// Cancels a payment waiting for its challenge, so finishing the
    /// challenge later takes no money; where the payment stands after.
    async fn cancel_payment(&self, payment_id: &str) -> Result<PaymentNews, GatewayError>;

    async fn refund(&self, request: RefundRequest<'_>) -> Result<RefundOutcome, GatewayError>;

    async fn refund_state(&self, refund_id: &str) -> Result<RefundState, GatewayError>;

    /// Every refund of a payment and where each stands.
    async fn refunds_of(&self, payment_id: &str) -> Result<Vec<RefundUpdate>, GatewayError>;

    /// Asks the gateway to send this account's events to `url`: a new
    /// endpoint with its own secret for each new `idempotency_key`.
    async fn register_webhook(&self, url: &str, idempotency_key: &str) -> Result<WebhookEndpoint, GatewayError>;

    /// Stops the deliveries to an endpoint made by `register_webhook`.
    async fn remove_webhook(&self, endpoint_id: &str) -> Result<(), GatewayError>;
}

/// Checks a webhook's signature and reads the event it carries, as the
/// gateway of `style` signs and writes them. Pure: no HTTP client involved.
pub fn verify_webhook(style: GatewayStyle, request: &WebhookRequest<'_>) -> Result<GatewayEvent, WebhookError> {
    match style {
        GatewayStyle::Stripe => stripe::verify_webhook(request),
        GatewayStyle::Square => square::verify_webhook(request),
    }
}

/// The HTTP client every adapter uses: rustls, and `timeout` for each call.
pub fn http_client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5).min(timeout))
        .timeout(timeout)
        .user_agent(concat!("paylet/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}
