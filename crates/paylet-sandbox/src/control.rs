//! The sandbox-only control API under `/_sandbox`: things no real gateway offers
//! but tests need, such as creating accounts and seeing what was received.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use serde_json::{Value, json};

use crate::state::Shared;

/// One request as the sandbox saw it: enough to check who called what from
/// where, never the body (which may hold a card number).
#[derive(Debug, Clone, Serialize)]
pub struct LoggedRequest {
    pub method: String,
    pub path: String,
    pub origin: Option<String>,
    pub status: u16,
}

pub(crate) async fn record(State(shared): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    let method = req.method().to_string();
    let path = req.uri().path().to_owned();
    let origin = req.headers().get(header::ORIGIN).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let response = next.run(req).await;
    if !path.starts_with("/_sandbox/") {
        shared.log_request(LoggedRequest { method, path, origin, status: response.status().as_u16() });
    }
    response
}

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new().route("/_sandbox/requests", get(requests)).route("/_sandbox/accounts", post(create_account))
}

async fn requests(State(shared): State<Arc<Shared>>) -> Json<Vec<LoggedRequest>> {
    Json(shared.request_log())
}

/// `POST /_sandbox/accounts`: a new account with fresh keys. The response is the
/// one place the secret credentials are shown, like a dashboard's "reveal key".
async fn create_account(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let a = shared.create_account();
    Json(json!({
        "id": a.id,
        "publishable_key": a.publishable_key,
        "secret_key": a.secret_key.expose(),
        "application_id": a.application_id,
        "access_token": a.access_token.expose(),
    }))
}
