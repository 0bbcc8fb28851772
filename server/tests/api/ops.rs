//! What an operator relies on: health, readiness, metrics, request ids.

use std::future::pending;

use tokio::net::TcpListener;

use crate::helpers::{TestApp, spawn_app};

/// The app's `/metrics`, served apart from the public address as
/// `paylet serve --metrics-listen` serves it.
async fn metrics_of(app: &TestApp) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/metrics", listener.local_addr().unwrap());
    tokio::spawn(paylet::serve(listener, paylet::http::metrics_router(app.state.clone()), pending()));
    let answer = app.http.get(url).send().await.unwrap();
    assert_eq!(answer.status(), 200);
    answer.text().await.unwrap()
}

#[tokio::test]
async fn health_readiness_and_metrics_answer() {
    let app = spawn_app().await;
    let health = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let id = health.headers()["x-request-id"].to_str().unwrap();
    assert!(id.starts_with("req_") && id.len() == 28, "{id}");
    // A caller's own request id is kept, so logs on both sides line up.
    let traced = app.http.get(app.url("/healthz")).header("x-request-id", "lb-42").send().await.unwrap();
    assert_eq!(traced.headers()["x-request-id"], "lb-42");
    let (status, ready) = app.get("/readyz").await;
    assert_eq!((status, ready["status"].as_str()), (200, Some("ready")));

    app.order().await;
    let metrics = metrics_of(&app).await;
    assert!(metrics.contains("paylet_orders_created_total 1"), "{metrics}");
    assert!(
        metrics.contains(r#"http_requests_total{method="POST",route="/v1/stores/{store}/orders",status="201"} 1"#),
        "{metrics}"
    );
    assert!(!metrics.contains("ord_"), "no ids in labels");
}

#[tokio::test]
async fn readiness_fails_when_the_database_is_gone() {
    let app = spawn_app().await;
    app.db.close().await;
    let (status, body) = app.get("/readyz").await;
    assert_eq!(status, 503);
    assert_eq!(body["status"], "unavailable");
}

#[tokio::test]
async fn a_wrong_method_is_a_json_error() {
    let app = spawn_app().await;
    let response = app.http.delete(app.url("/healthz")).send().await.unwrap();
    assert_eq!(response.status(), 405);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "method_not_allowed");
}

#[tokio::test]
async fn the_public_address_does_not_serve_metrics() {
    let app = spawn_app().await;
    let (status, body) = app.get("/metrics").await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"]["code"], "not_found");
}

#[tokio::test]
async fn a_thousand_made_up_methods_do_not_grow_the_metrics() {
    let app = spawn_app().await;
    let odd = |i: usize| reqwest::Method::from_bytes(format!("PROBE{i}").as_bytes()).unwrap();
    for i in 0..10 {
        app.http.request(odd(i), app.url("/healthz")).send().await.unwrap();
    }
    let before = metrics_of(&app).await.lines().count();
    for i in 10..1010 {
        let answer = app.http.request(odd(i), app.url(&format!("/v1/orders/ord_{i}"))).send().await.unwrap();
        assert_eq!(answer.status(), 405);
    }
    let after = metrics_of(&app).await;
    assert!(after.lines().count() <= before + 20, "{} lines after, {before} before:\n{after}", after.lines().count());
    assert!(!after.contains("PROBE"), "a made-up method is a label value");
    assert!(after.contains(r#"method="other""#), "{after}");
}
