//! Shared state for request handlers and background workers.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::db::{Db, millis, now_millis};
use crate::idempotency::InFlight;
use crate::integrity::ScriptSrcCache;
use crate::limits::{Limiter, Limits};
use crate::metrics::Metrics;
use crate::notifications::Deliveries;
use crate::outbound::UrlRules;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    /// The HTTP client for gateway calls, so connections are reused.
    /// Merchants' notifications go out through `deliveries`' own client.
    pub http: reqwest::Client,
    /// Notification sends in flight in this process.
    pub deliveries: Arc<Deliveries>,
    /// Where the built widget (Trunk's `dist`) and `embed.js` are.
    pub widget_dir: PathBuf,
    /// The widget pages' `script-src`, worked out once per page and origin.
    pub script_src: ScriptSrcCache,
    pub metrics: Arc<Metrics>,
    pub in_flight: InFlight,
    /// The abuse limits each request is checked against, and their counts.
    pub limiter: Limiter,
    pub settings: Arc<Settings>,
}

/// How the server deals with gateways and merchants.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where browsers and gateways reach this server: return URLs and webhook
    /// URLs are made from it.
    pub public_url: String,
    /// How long one gateway call may take.
    pub gateway_timeout: Duration,
    /// How far a signed webhook timestamp may be from now.
    pub webhook_tolerance: Duration,
    /// A payment still unsettled this long is asked about at the gateway.
    pub reconcile_after: Duration,
    /// Waits between attempts to deliver a notification to the merchant.
    pub notification_retries: Vec<Duration>,
    pub transport: Transport,
    /// Orders and payment attempts allowed per minute.
    pub limits: Limits,
    /// What URLs merchants and operators may give beyond https to public
    /// addresses; strict by default.
    pub url_rules: UrlRules,
}

impl Settings {
    /// When a payment or refund started now is first asked about at the
    /// gateway, if nothing settles it sooner.
    pub fn first_check(&self) -> i64 {
        now_millis().saturating_add(millis(self.reconcile_after))
    }
}

/// How requests reach the server, for sending plain HTTP to HTTPS.
#[derive(Debug, Clone, Default)]
pub struct Transport {
    /// This server terminates TLS itself: every request came over HTTPS.
    pub tls: bool,
    /// Proxies whose `X-Forwarded-Proto` is believed.
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

impl Settings {
    pub fn new(public_url: &str) -> Settings {
        Settings {
            public_url: public_url.trim_end_matches('/').to_owned(),
            gateway_timeout: Duration::from_secs(30),
            webhook_tolerance: Duration::from_secs(paylet_webhook::DEFAULT_TOLERANCE_SECS.unsigned_abs()),
            reconcile_after: Duration::from_secs(600),
            notification_retries: crate::notifications::default_retry_schedule(),
            transport: Transport::default(),
            limits: Limits::default(),
            url_rules: UrlRules::default(),
        }
    }
}
