//! Serves the built widget under `/widget/` and the loader at `/embed.js`.

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use paylet_api::StoreId;
use serde::Deserialize;
use tower::ServiceExt;
use tower_http::services::ServeDir;

use crate::app::AppState;
use crate::{Error, stores};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/embed.js", get(embed_js))
        .route("/widget/", get(widget_page))
        .route("/widget/{*file}", get(widget_file))
}

/// The widget's scripts, WASM and styles. Its page goes through [`widget_page`]
/// under either name, so it is never served without its `frame-ancestors`.
async fn widget_file(
    State(state): State<AppState>,
    Path(file): Path<String>,
    query: Query<WidgetQuery>,
    request: Request,
) -> Result<Response, Error> {
    if file == "index.html" {
        return widget_page(State(state), query).await;
    }
    let (mut parts, body) = request.into_parts();
    parts.uri = format!("/{file}").parse().map_err(|_| Error::NotFound("file"))?;
    let response = ServeDir::new(&state.widget_dir)
        .append_index_html_on_directories(false)
        .oneshot(Request::from_parts(parts, body))
        .await
        .map_err(|e| Error::Io(std::io::Error::other(e)))?;
    Ok(response.map(Body::new))
}

/// `embed.js` loads on merchants' pages with `crossorigin="anonymous"` so its
/// Subresource Integrity hash can be checked, which needs this CORS header.
async fn embed_js(State(state): State<AppState>) -> Result<Response, Error> {
    let body = tokio::fs::read(state.widget_dir.join("embed.js")).await?;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/javascript; charset=utf-8")),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*")),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        body,
    )
        .into_response())
}

#[derive(Deserialize)]
struct WidgetQuery {
    store: Option<String>,
}

/// The widget's page, framable only by the store's allowed origins.
async fn widget_page(State(state): State<AppState>, Query(query): Query<WidgetQuery>) -> Result<Response, Error> {
    // An unknown store still gets the page (which then says so), framable by no one.
    let store = match query.store.as_deref().map(StoreId::parse) {
        Some(Ok(id)) => match stores::find(&state.db, &id).await {
            Ok(store) => Some(store),
            Err(Error::NotFound(_)) => None,
            Err(e) => return Err(e),
        },
        _ => None,
    };
    let ancestors = match &store {
        Some(store) if !store.allowed_origins.is_empty() => store.allowed_origins.join(" "),
        _ => "'none'".to_owned(),
    };
    let csp = HeaderValue::from_str(&format!("frame-ancestors {ancestors}"))
        .map_err(|_| Error::Config("allowed origins do not fit in a header".into()))?;
    let body = tokio::fs::read(state.widget_dir.join("index.html")).await?;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8")),
            (header::CONTENT_SECURITY_POLICY, csp),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        body,
    )
        .into_response())
}
