//! HTTP: routes, middleware, and the mapping from requests to domain calls.

mod admin;
mod card_guard;
mod extract;
mod idempotent;
mod ops;
mod public;
pub mod recorder;
mod transport;
mod widget;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::Error;
use crate::app::AppState;
use recorder::Recorder;

/// JSON bodies are small: an order with 100 lines is well under this.
const BODY_LIMIT: usize = 64 * 1024;
static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub fn router(state: AppState, recorder: Option<Arc<Recorder>>) -> Router {
    let api = Router::new()
        .route("/v1/stores/{store}/checkout-config", get(public::checkout_config))
        .route("/v1/stores/{store}/orders", post(public::create_order))
        .route("/v1/orders/{order}", get(public::get_order))
        .route("/v1/orders/{order}/payments", post(public::pay))
        .route("/v1/orders/{order}/payments/confirm", post(public::confirm_payment))
        .route("/v1/orders/{order}/hosted-session", post(public::hosted_session))
        .route("/v1/orders/{order}/resume", post(public::resume_order))
        .route("/v1/webhooks/{store}/{gateway}", post(public::gateway_webhook))
        .route("/v1/checkout-sessions/{id}", get(public::checkout_session))
        .route("/v1/csp-reports/{store}", post(public::csp_report))
        .route("/v1/admin/csp-reports", get(admin::list_csp_reports))
        .route("/v1/admin/gateway-events/unmatched", get(admin::list_unmatched_events))
        .route("/v1/admin/store", get(admin::store).patch(admin::update_store))
        .route("/v1/admin/products", post(admin::create_product).get(admin::list_products))
        .route(
            "/v1/admin/products/{sku}",
            get(admin::get_product).patch(admin::update_product).delete(admin::delete_product),
        )
        .route("/v1/admin/orders", get(admin::list_orders))
        .route("/v1/admin/orders/{id}", get(admin::get_order))
        .route("/v1/admin/orders/{id}/refunds", post(admin::create_refund))
        .route(
            "/v1/admin/notification-endpoint",
            put(admin::set_notification_endpoint).delete(admin::remove_notification_endpoint),
        )
        .route("/v1/admin/checkout-sessions", post(admin::create_checkout_session))
        // API answers are per shopper and per moment: never cache them.
        .layer(SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        // JSON is never a page: nothing to run, nothing to frame.
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        ))
        .layer(SetResponseHeaderLayer::overriding(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")));

    let app = Router::new()
        .merge(api)
        .merge(widget::router())
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .fallback(|| async { Error::NotFound("route") })
        .method_not_allowed_fallback(|| async { Error::MethodNotAllowed })
        .route_layer(axum::middleware::from_fn_with_state(state.metrics.clone(), crate::metrics::track))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn(card_guard::refuse_card_data))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        // The widget's URL names the store, the cart and, back from a hosted
        // page, the order's client secret: it goes nowhere in a Referer.
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, Duration::from_secs(60)))
        .layer(CatchPanicLayer::custom(|_| {
            // A bug, never a client's fault; the panic itself is logged by the hook.
            Error::Internal("handler panicked".into()).into_response()
        }))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            // The path only: query strings can carry client secrets.
            let id = req.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::new(REQUEST_ID.clone(), NewRequestId))
        // Before anything reads a plain-HTTP request, it is sent to HTTPS.
        .layer(axum::middleware::from_fn_with_state(state.clone(), transport::https_only))
        .with_state(state);

    match recorder {
        // Outermost, so it sees every byte, even of requests the server rejects.
        Some(recorder) => app.layer(axum::middleware::from_fn_with_state(recorder, recorder::record)),
        None => app,
    }
}

/// What `paylet serve --metrics-listen` answers: `/metrics` for Prometheus,
/// on an address apart from the public one, so the internet never sees it.
pub fn metrics_router(state: AppState) -> Router {
    Router::new().route("/metrics", get(ops::metrics)).fallback(|| async { Error::NotFound("route") }).with_state(state)
}

/// What `paylet serve --redirect-http` answers on its plain-HTTP port.
pub fn https_redirect(public_url: String) -> Router {
    Router::new().fallback(move |req: Request| async move { transport::to_https(&public_url, &req) })
}

/// `req_` and 24 letters and digits. Not a UUID: its digit groups, read
/// across the dashes, now and then form a Luhn-valid 13 to 19 digit run, and
/// logs are scanned for card numbers.
#[derive(Clone, Copy)]
struct NewRequestId;

impl MakeRequestId for NewRequestId {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        HeaderValue::from_str(&format!("req_{}", crate::ids::random_string(24))).ok().map(RequestId::new)
    }
}
