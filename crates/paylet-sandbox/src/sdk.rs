//! Stand-ins for the gateways' browser SDKs, as their real ones are served
//! from the gateway's own origin: Stripe.js at `/js/stripe/v3/` and Square's
//! Web Payments SDK at `/js/square/v1/square.js`. Each puts its card inputs
//! in a frame of this origin (`/js/card-frame.html`), which tokenizes at this
//! sandbox's browser endpoints, and runs the bank's challenge in a modal
//! frame of this origin too. Their JavaScript is in `js/`.

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;

const COMMON: &str = include_str!("../js/sdk-common.js");
const STRIPE: &str = include_str!("../js/stripe-v3.js");
const SQUARE: &str = include_str!("../js/square-v1.js");
const CARD_FRAME: &str = include_str!("../js/card-frame.html");
const CARD_FRAME_JS: &str = include_str!("../js/card-frame.js");

pub(crate) fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/js/stripe/v3/", get(|headers: HeaderMap| async move { sdk(&headers, STRIPE) }))
        .route("/js/square/v1/square.js", get(|headers: HeaderMap| async move { sdk(&headers, SQUARE) }))
        .route("/js/card-frame.html", get(|| async { Html(CARD_FRAME) }))
        .route("/js/card-frame.js", get(|| async { javascript(CARD_FRAME_JS.to_owned()) }))
}

/// A stand-in: its own file and the shared one in one function scope, which
/// knows the origin it was served from (the real SDKs know theirs).
fn sdk(headers: &HeaderMap, own: &str) -> Response {
    let origin = crate::stripe::base_url(headers);
    let origin = serde_json::to_string(&origin).unwrap_or_default();
    javascript(format!("(() => {{\n\"use strict\";\nconst SDK_ORIGIN = {origin};\n{COMMON}\n{own}\n}})();\n"))
}

fn javascript(body: String) -> Response {
    let mut response = body.into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/javascript; charset=utf-8"));
    response
}

/// The page a challenge frame opened by a stand-in ends on: it tells the
/// stand-in (its parent, on the checkout's page at `parent_origin`, which
/// alone may read it) how the challenge ended.
pub(crate) fn challenge_done(kind: &str, parent_origin: &str, outcome: &impl Serialize) -> Html<String> {
    let (message, kind, target) = (script_json(outcome), script_json(&kind), script_json(&parent_origin));
    Html(format!(
        "<!doctype html><meta charset=\"utf-8\"><title>Done</title><p>Done. You can go back to the checkout.</p>\
         <script>parent.postMessage(Object.assign({{ type: {kind} }}, {message}), {target});</script>"
    ))
}

/// `value` as JSON to write into a script, `<` escaped so no value can close it.
fn script_json(value: &impl Serialize) -> String {
    serde_json::to_string(value).unwrap_or_default().replace('<', "\\u003c")
}
