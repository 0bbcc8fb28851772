//! Endpoints for whoever runs Paylet: liveness, readiness, metrics.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde_json::json;

use crate::app::AppState;

/// The process answers.
pub async fn healthz() -> &'static str {
    "ok"
}

/// A readiness probe gives up after a second or so; a database that takes
/// longer than this to answer `SELECT 1` is as good as down.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// The process can serve: its database answers, within [`READY_TIMEOUT`]
/// (while it is down, a connection would otherwise be awaited for the pool's
/// whole acquire timeout).
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let answer = tokio::time::timeout(READY_TIMEOUT, state.db.ping()).await;
    let error = match answer {
        Ok(Ok(_)) => return (StatusCode::OK, Json(json!({ "status": "ready" }))),
        Ok(Err(e)) => e.to_string(),
        Err(_) => format!("no answer within {READY_TIMEOUT:?}"),
    };
    tracing::warn!(error, "not ready: database unavailable");
    (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "status": "unavailable", "reason": "database" })))
}

pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render())
}
