//! The request recorder: a test instrument that appends every request the
//! server receives (request line, headers, body) to a file, so the e2e suite can
//! prove that no card data ever reached the server. Enabled only by
//! `--record-requests`; it writes bodies verbatim, so it is never for production.

use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::io::AsyncWriteExt;
use tokio::sync::Mutex;

use crate::Error;

/// Bodies larger than this are recorded up to the limit and then refused.
const MAX_RECORDED_BODY: usize = 16 * 1024 * 1024;

pub struct Recorder {
    file: Mutex<tokio::fs::File>,
}

impl Recorder {
    pub async fn create(path: &Path) -> Result<Recorder, Error> {
        let file = tokio::fs::OpenOptions::new().create(true).append(true).open(path).await?;
        Ok(Recorder { file: Mutex::new(file) })
    }

    async fn write(&self, entry: &[u8]) -> std::io::Result<()> {
        let mut file = self.file.lock().await;
        file.write_all(entry).await?;
        file.flush().await
    }
}

pub async fn record(State(recorder): State<Arc<Recorder>>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_RECORDED_BODY).await else {
        return Error::PayloadTooLarge.into_response();
    };

    // The path, as HTTP/1.1 sends it; HTTP/2 requests carry the whole URL.
    let target = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut entry = format!("{} {target} {:?}\n", parts.method, parts.version).into_bytes();
    for (name, value) in &parts.headers {
        entry.extend_from_slice(name.as_str().as_bytes());
        entry.extend_from_slice(b": ");
        entry.extend_from_slice(value.as_bytes());
        entry.push(b'\n');
    }
    entry.push(b'\n');
    entry.extend_from_slice(&bytes);
    entry.extend_from_slice(b"\n\n");
    if let Err(e) = recorder.write(&entry).await {
        tracing::error!(error = %e, "request recorder could not write");
    }

    next.run(Request::from_parts(parts, Body::from(bytes))).await
}
