//! The Paylet server as a library: `main.rs` and `cli/` are only the command
//! line, and tests build the same [`state`], [`app`] and [`workers`] on a real
//! database.
//!
//! Where each concept is:
//! - the HTTP edge: [`http`] (thin handlers, extractors, the widget's page and
//!   files), [`error`](Error) (the one error type and its one HTTP mapping);
//! - state machines: [`order_state`] for orders, [`attempt_state`] for
//!   payment attempts, [`refund_state`] for refunds, each one transition table;
//! - the use cases: [`orders`] (pricing and creating), [`payments`] (pay,
//!   confirm, hosted page, and `settle`, which applies whatever the gateway
//!   says), [`webhooks`], [`reconcile`], [`refunds`], [`notifications`] (to
//!   the merchant), [`checkout_sessions`], [`catalog`], [`customers`];
//! - stores and their secrets: [`stores`], [`keys`], [`auth`] (admin keys);
//! - storage: [`db`], all the SQL: the pool, the group-commit writer (the one
//!   way to write), migrations, backups, and one file per table mapping its
//!   rows to the types above with `sqlx::FromRow`; [`idempotency`] keeps its
//!   keys there too;
//! - background work: [`workers`] (reconciliation, notification delivery,
//!   housekeeping);
//! - payment-page integrity: [`integrity`] (inventory, CSP, check), [`snippet`],
//!   [`csp_reports`];
//! - operating: [`config`], [`telemetry`], [`metrics`], [`limits`],
//!   [`outbound`] (which URLs may be called), [`tls`], and `demo` (the
//!   `sandbox` feature).

pub mod app;
pub mod attempt_state;
pub mod auth;
pub mod catalog;
pub mod checkout_sessions;
pub mod config;
pub mod csp_reports;
pub mod customers;
pub mod db;
#[cfg(feature = "sandbox")]
pub mod demo;
mod error;
pub mod http;
pub mod idempotency;
pub mod ids;
pub mod integrity;
pub mod keys;
pub mod limits;
pub mod metrics;
pub mod notifications;
pub mod order_state;
pub mod orders;
pub mod outbound;
pub mod payments;
pub mod reconcile;
pub mod refund_state;
pub mod refunds;
pub mod snippet;
pub mod stores;
pub mod telemetry;
pub mod tls;
pub mod webhooks;
pub mod workers;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::serve::{Listener, ListenerExt};

pub use error::Error;

use crate::app::{AppState, Settings};
use crate::db::Db;
use crate::http::recorder::Recorder;
use crate::idempotency::InFlight;

#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The built widget: Trunk's output plus `embed.js`.
    pub widget_dir: PathBuf,
    pub settings: Settings,
}

/// What every handler and worker shares, on `db`.
pub fn state(db: Db, options: ServeOptions) -> AppState {
    let metrics = Arc::new(metrics::Metrics::new().unwrap_or_else(|e| {
        // Registering fixed metrics in a fresh registry cannot collide.
        unreachable!("metrics registry: {e}")
    }));
    let limiter = limits::Limiter::new(db.clone(), options.settings.limits);
    AppState {
        db,
        http: paylet_gateway::http_client(options.settings.gateway_timeout),
        deliveries: notifications::Deliveries::new(
            outbound::Client::new(options.settings.url_rules),
            options.settings.notification_retries.clone(),
        ),
        widget_dir: options.widget_dir,
        script_src: integrity::ScriptSrcCache::default(),
        metrics,
        in_flight: InFlight::default(),
        limiter,
        settings: Arc::new(options.settings),
    }
}

/// The server's HTTP application.
pub fn app(state: AppState, recorder: Option<Recorder>) -> Router {
    http::router(state, recorder.map(Arc::new))
}

/// The background work: notifications, reconciliation, housekeeping. It
/// stops when the returned value is dropped.
pub fn workers(state: &AppState) -> workers::Workers {
    workers::Workers::spawn(state)
}

/// Serves `app` on `listener` (over TLS with `tls`) until `shutdown` resolves,
/// then finishes the requests in flight.
pub async fn serve_tcp(
    listener: tokio::net::TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    match tls {
        Some(config) => serve(tls::TlsListener::new(listener, config)?, app, shutdown).await,
        None => serve(listener, app, shutdown).await,
    }
}

/// Resolves once `stop` is sent or dropped: one signal for several servers' shutdown.
pub async fn stopped(mut stop: tokio::sync::watch::Receiver<()>) {
    let _ = stop.changed().await;
}

/// `listener` is a [`tokio::net::TcpListener`] or a [`tls::TlsListener`].
pub async fn serve<L>(
    listener: L,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()>
where
    L: Listener<Addr = SocketAddr>,
{
    // `tap_io` only so that axum's connect-info impl for any listener applies.
    axum::serve(listener.tap_io(|_| ()), app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}
