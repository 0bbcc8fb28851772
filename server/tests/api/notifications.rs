//! What the merchant's own server hears: Standard Webhooks-signed order
//! events, retried until taken, and kept across a restart.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use paylet_webhook::standard::{self, SigningSecret};
use serde_json::{Value, json};
use sqlx::Row;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

use crate::helpers::{Receiver, STYLES, TestApp, spawn_app_with};

pub async fn subscribe(app: &TestApp, url: &str) -> SigningSecret {
    let (status, body) =
        app.admin(reqwest::Method::PUT, "/v1/admin/notification-endpoint", Some(&json!({ "url": url }))).await;
    assert_eq!(status, 200, "{body}");
    let secret = body["secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_"), "{secret}");
    SigningSecret::parse(secret).unwrap()
}

pub async fn pay(app: &TestApp) -> Value {
    let order = app.order().await;
    let token = app.tokenize("4242424242424242").await;
    assert_eq!(app.pay(&order, &token).await.1["status"], "paid");
    order
}

/// Checks the Standard Webhooks signature and returns the payload.
fn verified(secret: &SigningSecret, headers: &reqwest::header::HeaderMap, body: &str) -> Value {
    let header = |name: &str| headers[name].to_str().unwrap();
    let now = paylet::db::now_millis() / 1000;
    standard::verify(
        header("webhook-id"),
        header("webhook-timestamp"),
        header("webhook-signature"),
        body.as_bytes(),
        &[secret],
        300,
        now,
    )
    .unwrap();
    serde_json::from_str(body).unwrap()
}

#[tokio::test]
async fn a_paid_order_is_announced_signed_and_a_tampered_copy_would_not_verify() {
    for style in STYLES {
        let app = spawn_app_with(style, |_| {}).await;
        let merchant = Receiver::start(0).await;
        let secret = subscribe(&app, &merchant.url).await;
        let order = pay(&app).await;

        let got = merchant.wait_for(1).await;
        let (headers, body) = &got[0];
        let event = verified(&secret, headers, body);
        assert_eq!(event["type"], "order.paid", "{style:?}");
        assert_eq!(event["data"]["order_id"], order["id"]);
        assert_eq!(event["data"]["total"]["amount"], 2500);

        let tampered = body.replace("2500", "1");
        let header = |name: &str| headers[name].to_str().unwrap().to_owned();
        let now = paylet::db::now_millis() / 1000;
        let check = standard::verify(
            &header("webhook-id"),
            &header("webhook-timestamp"),
            &header("webhook-signature"),
            tampered.as_bytes(),
            &[&secret],
            300,
            now,
        );
        assert!(check.is_err());
    }
}

#[tokio::test]
async fn a_failing_endpoint_gets_the_same_message_again_until_it_takes_it() {
    let app = spawn_app_with(STYLES[0], |_| {}).await;
    let merchant = Receiver::start(2).await;
    let secret = subscribe(&app, &merchant.url).await;
    pay(&app).await;

    let got = merchant.wait_for(1).await;
    assert_eq!(merchant.attempts.load(std::sync::atomic::Ordering::SeqCst), 3, "two 503s, then taken");
    verified(&secret, &got[0].0, &got[0].1);
    // The same message each time, and marked delivered: it will not be sent
    // again. The outbox records the delivery just after the merchant answered.
    let mut row = None;
    for _ in 0..100 {
        let r = sqlx::query("SELECT attempts, delivered_at, next_attempt_at FROM notifications")
            .fetch_one(app.db.reader())
            .await
            .unwrap();
        if r.get::<Option<i64>, _>("delivered_at").is_some() {
            row = Some(r);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let row = row.expect("the delivery is recorded");
    assert_eq!(row.get::<i64, _>("attempts"), 3);
    assert!(row.get::<Option<i64>, _>("delivered_at").is_some());
    assert!(row.get::<Option<i64>, _>("next_attempt_at").is_none());
}

#[tokio::test]
async fn a_message_queued_before_a_crash_is_delivered_after_the_restart() {
    let mut app = spawn_app_with(STYLES[0], |s| s.notification_retries = vec![Duration::from_secs(2); 5]).await;
    // The merchant's server is down: nothing listens on its port yet.
    let port = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = port.local_addr().unwrap();
    drop(port);
    let secret = subscribe(&app, &format!("http://{address}/hooks")).await;
    let order = pay(&app).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let tried: i64 = sqlx::query_scalar("SELECT attempts FROM notifications").fetch_one(app.db.reader()).await.unwrap();
    assert_eq!(tried, 1, "tried once while the merchant was down");

    // The server dies; a new one starts on the same database; the merchant's
    // server comes back.
    app.stop_workers();
    let (_, restarted) = app.second_instance().await;
    let _workers = paylet::workers(&restarted);
    let merchant = Receiver::on(TcpListener::bind(address).await.unwrap(), 0);

    let got = merchant.wait_for(1).await;
    let event = verified(&secret, &got[0].0, &got[0].1);
    assert_eq!(event["data"]["order_id"], order["id"]);
}

#[tokio::test]
async fn a_store_without_an_endpoint_queues_nothing_and_can_stop_notifications() {
    let app = spawn_app_with(STYLES[0], |_| {}).await;
    let merchant = Receiver::start(0).await;
    subscribe(&app, &merchant.url).await;
    let (status, _) = app.admin(reqwest::Method::DELETE, "/v1/admin/notification-endpoint", None).await;
    assert_eq!(status, 204);
    pay(&app).await;
    assert_eq!(queued(&app).await, 0, "nothing queued for a store without an endpoint");
    assert_eq!(merchant.attempts.load(std::sync::atomic::Ordering::SeqCst), 0);

    let (status, body) =
        app.admin(reqwest::Method::PUT, "/v1/admin/notification-endpoint", Some(&json!({ "url": "ftp://x" }))).await;
    assert_eq!(status, 422, "{body}");
}

/// Messages in the store's outbox, sent or not.
pub async fn queued(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM notifications").fetch_one(app.db.reader()).await.unwrap()
}

/// What happened, in the order it happened, across the test's endpoints.
type Events = Arc<Mutex<Vec<&'static str>>>;

fn happened(events: &Events, what: &'static str) {
    events.lock().unwrap().push(what);
}

fn count(events: &Events, what: &str) -> usize {
    events.lock().unwrap().iter().filter(|e| **e == what).count()
}

/// Waits (up to 20 s) until `what` happened `n` times.
async fn until(events: &Events, what: &str, n: usize) {
    for _ in 0..400 {
        if count(events, what) >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("expected {what} {n} times; events: {:?}", events.lock().unwrap());
}

/// An endpoint that takes connections, reads what comes and never answers.
async fn silent_endpoint(events: Events) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let (mut connection, _) = listener.accept().await.unwrap();
            happened(&events, "A opened");
            let events = events.clone();
            tokio::spawn(async move {
                let mut buffer = [0u8; 4096];
                while matches!(connection.read(&mut buffer).await, Ok(n) if n > 0) {}
                happened(&events, "A closed");
            });
        }
    });
    url
}

#[tokio::test]
async fn an_endpoint_that_never_answers_does_not_delay_another_stores_notifications() {
    let app = spawn_app_with(STYLES[0], |_| {}).await;
    let events: Events = Arc::default();

    // Store B, on the same server, with an endpoint that answers at once.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let b_url = format!("http://{}/hooks", listener.local_addr().unwrap());
    let log = events.clone();
    let b_endpoint = axum::Router::new().route(
        "/hooks",
        axum::routing::post(move || async move {
            happened(&log, "B received");
            axum::http::StatusCode::NO_CONTENT
        }),
    );
    tokio::spawn(async move { axum::serve(listener, b_endpoint).await });
    #[rustfmt::skip]
    let (ok, out, err) = app.cli(&["store", "create", "--name", "B", "--origin", "https://b.example", "--currency", "USD",
        "--gateway", "stripe", "--gateway-url", &app.sandbox_base, "--public-key", &app.account.publishable_key,
        "--secret-key", app.account.secret_key.expose(), "--no-webhook", "--notify-url", &b_url, "--json"]).await;
    assert!(ok, "{err}");
    let b = serde_json::from_str::<Value>(&out).unwrap()["store_id"].as_str().unwrap().to_owned();
    let (ok, _, err) =
        app.cli(&["product", "add", "--store", &b, "--sku", "TEE", "--name", "Tee", "--price", "25"]).await;
    assert!(ok, "{err}");

    // Store A's endpoint holds every request it gets, with more messages
    // queued for it than it may hold at once.
    subscribe(&app, &silent_endpoint(events.clone()).await).await;
    for _ in 0..6 {
        pay(&app).await;
    }
    until(&events, "A opened", 4).await;

    let body = json!({ "items": [{ "sku": "TEE", "quantity": 1 }], "customer": { "email": "ada@example.com" } });
    let (status, order) = app.post_json(&format!("/v1/stores/{b}/orders"), &body).await;
    assert_eq!(status, 201, "{order}");
    let token = app.tokenize("4242424242424242").await;
    assert_eq!(app.pay(&order, &token).await.1["status"], "paid");

    until(&events, "B received", 1).await;
    let events = events.lock().unwrap().clone();
    let b_at = events.iter().position(|e| *e == "B received").unwrap();
    assert!(!events[..b_at].contains(&"A closed"), "B waited for A's requests to end: {events:?}");
    assert_eq!(events.iter().filter(|e| **e == "A opened").count(), 4, "at most 4 at once to A: {events:?}");
}
