//! Shared state for request handlers.

use std::path::PathBuf;
use std::sync::Arc;

use crate::db::Db;
use crate::idempotency::InFlight;
use crate::metrics::Metrics;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    /// One HTTP client for all gateway calls, so connections are reused.
    pub http: reqwest::Client,
    /// Where the built widget (Trunk's `dist`) and `embed.js` are.
    pub widget_dir: PathBuf,
    pub metrics: Arc<Metrics>,
    pub in_flight: InFlight,
}
