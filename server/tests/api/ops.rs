//! What an operator relies on: health, readiness, metrics, request ids.

use crate::helpers::spawn_app;

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
    let metrics = app.http.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
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
