//! The server's background work, each a loop over the shared state.

use std::time::Duration;

use tokio::task::JoinHandle;

use crate::app::AppState;
use crate::db::Backend;
use crate::{idempotency, limits, notifications, reconcile};

/// Running workers; dropping this stops them.
pub struct Workers(Vec<JoinHandle<()>>);

impl Workers {
    pub fn spawn(state: &AppState) -> Workers {
        let mut workers = vec![
            tokio::spawn(notifications::run(state.db.clone(), state.deliveries.clone())),
            tokio::spawn(reconcile::run(state.clone())),
            tokio::spawn(expire_idempotency_keys(state.clone())),
        ];
        // On SQLite the abuse-limit counts live in memory (`limits::Counts`).
        if state.db.backend() == Backend::Postgres {
            workers.push(tokio::spawn(expire_rate_counters(state.clone())));
        }
        Workers(workers)
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        for worker in &self.0 {
            worker.abort();
        }
    }
}

/// Expired idempotency keys are deleted hourly.
async fn expire_idempotency_keys(state: AppState) {
    loop {
        match idempotency::expire(&state.db).await {
            Ok(n) if n > 0 => tracing::info!(deleted = n, "expired idempotency keys"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not expire idempotency keys"),
        }
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
}

/// Rate-limit windows that have ended are deleted from the database every minute.
async fn expire_rate_counters(state: AppState) {
    loop {
        tokio::time::sleep(Duration::from_secs(60)).await;
        if let Err(e) = limits::expire(&state.db).await {
            tracing::warn!(error = %e, "could not expire rate-limit counters");
        }
    }
}
