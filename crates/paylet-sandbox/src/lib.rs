//! The Paylet sandbox: a gateway that runs offline and keeps state, speaking the
//! Stripe-style API under `/v1` and (later) the Square-style API under `/v2`, so
//! that code written against it works against the real services.
//!
//! Everything lives in memory behind one mutex that is never held across an
//! `.await`; requests are tiny, so contention is not the bottleneck.

mod accounts;
mod cards;
mod control;
mod ids;
mod state;
mod stripe;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;

pub use accounts::{Account, DEMO_ACCOUNT};
pub use control::LoggedRequest;
use state::Shared;

/// A running sandbox's in-memory world, cheap to clone.
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
    /// A sandbox with the built-in demo account (see [`DEMO_ACCOUNT`]).
    pub fn new() -> Self {
        Sandbox { shared: Arc::new(Shared::new()) }
    }

    /// Creates a fresh account with random keys, for tests that want isolation.
    pub fn create_account(&self) -> Account {
        self.shared.create_account()
    }

    /// Requests received so far, newest last (bounded).
    pub fn request_log(&self) -> Vec<LoggedRequest> {
        self.shared.request_log()
    }

    pub fn router(&self) -> Router {
        Router::new()
            .merge(stripe::router())
            .merge(control::router())
            .layer(axum::middleware::from_fn_with_state(self.shared.clone(), control::record))
            .with_state(self.shared.clone())
    }

    /// Serves on `listener` until `shutdown` resolves.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let app = self.router().into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(listener, app).with_graceful_shutdown(shutdown).await
    }
}
