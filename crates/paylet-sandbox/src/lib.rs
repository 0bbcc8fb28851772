//! The Paylet sandbox: an offline, stateful payment gateway that speaks the
//! Stripe-style API under `/v1` and the Square-style API under `/v2`, closely
//! enough that code written against it works against the real services. It
//! keeps accounts, tokens, payments, refunds, hosted checkouts and webhook
//! subscriptions; serves 3-D Secure challenge and hosted payment pages; sends
//! signed webhooks with retries; and injects faults on request.

mod accounts;
mod bounded;
mod cards;
mod control;
mod idempotency;
mod ids;
mod owned;
mod pages;
mod persist;
mod sdk;
mod square;
mod state;
mod stripe;
pub mod testing;
mod webhooks;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use tokio::net::TcpListener;

pub use accounts::{Account, DEMO_ACCOUNT, Faults};
pub use control::{LoggedRequest, SucceededPayment};
pub use webhooks::{DeliveryAttempt, default_retry_schedule, parse_retry_schedule};

use state::{Shared, World};

/// Largest request body either API accepts.
const BODY_LIMIT: usize = 256 * 1024;

#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Where state persists across restarts; `None` keeps it in memory only.
    pub state_file: Option<PathBuf>,
    /// Wait before each webhook retry; after the last, delivery is abandoned.
    pub retry_schedule: Vec<Duration>,
    /// How many objects of each kind are kept before the oldest are forgotten.
    pub capacity: usize,
    /// How long a Square-style refund stays `PENDING` before it completes.
    pub refund_settle: Duration,
    /// Certificates (PEM) trusted beside the usual roots when delivering webhooks,
    /// for a server whose certificate a private CA issued.
    pub webhook_root_certificates: Vec<reqwest::Certificate>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            state_file: None,
            retry_schedule: default_retry_schedule(),
            capacity: 100_000,
            refund_settle: Duration::from_millis(200),
            webhook_root_certificates: Vec::new(),
        }
    }
}

/// A sandbox's world, cheap to clone.
#[derive(Clone)]
pub struct Sandbox {
    shared: Arc<Shared>,
}

impl Default for Sandbox {
    fn default() -> Self {
        Self::new()
    }
}

impl Sandbox {
    /// An in-memory sandbox with the demo account (see [`DEMO_ACCOUNT`]).
    pub fn new() -> Sandbox {
        let config = SandboxConfig::default();
        let world = World::new(config.capacity);
        Sandbox { shared: Arc::new(Shared::new(config, world)) }
    }

    /// A sandbox with `config`, resuming from its state file if there is one.
    pub fn with_config(config: SandboxConfig) -> std::io::Result<Sandbox> {
        let world = match &config.state_file {
            Some(path) => persist::load(path)?.unwrap_or_else(|| World::new(config.capacity)),
            None => World::new(config.capacity),
        };
        Ok(Sandbox { shared: Arc::new(Shared::new(config, world)) })
    }

    /// Creates an account with fresh keys, for tests that want isolation.
    pub fn create_account(&self) -> Account {
        self.shared.write(|w| {
            let account = Account::random();
            w.accounts.insert(account.id.clone(), account.clone());
            account
        })
    }

    /// Requests received so far, newest last (bounded, bodies never kept).
    pub fn request_log(&self) -> Vec<LoggedRequest> {
        self.shared.request_log()
    }

    /// Webhook delivery attempts so far, oldest first (bounded).
    pub fn deliveries(&self) -> Vec<DeliveryAttempt> {
        self.shared.read(|w| w.webhooks.attempts().cloned().collect())
    }

    /// Ids of the payments that took money on `account_id` (either style),
    /// oldest first: what an audit compares with the orders marked paid.
    pub fn succeeded_payments(&self, account_id: &str) -> Vec<String> {
        self.shared.read(|w| control::succeeded_payments(w, account_id).into_iter().map(|p| p.id).collect())
    }

    pub fn router(&self) -> Router {
        Router::new()
            .merge(stripe::router(self.shared.clone()))
            .merge(square::router(self.shared.clone()))
            .merge(control::router())
            .merge(sdk::router())
            .fallback(|| async {
                (StatusCode::NOT_FOUND, "Not found. The sandbox serves /v1 (Stripe style) and /v2 (Square style).")
                    .into_response()
            })
            .layer(axum::middleware::from_fn_with_state(self.shared.clone(), control::record))
            .with_state(self.shared.clone())
    }

    /// Serves on `listener` until `shutdown` resolves, delivering webhooks and
    /// persisting state meanwhile; writes the state file once more at the end.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let worker = tokio::spawn(webhooks::run(self.shared.clone()));
        let persister =
            self.shared.config.state_file.clone().map(|path| tokio::spawn(persist::run(self.shared.clone(), path)));
        let app = self.router().into_make_service_with_connect_info::<SocketAddr>();
        let served = axum::serve(listener, app).with_graceful_shutdown(shutdown).await;
        worker.abort();
        if let Some(p) = persister {
            p.abort();
        }
        if let Some(path) = &self.shared.config.state_file {
            persist::save(&self.shared, path)?;
        }
        served
    }
}
