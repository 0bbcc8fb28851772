//! Where this server can be made to send: a merchant's notification URL must
//! not lead it into its own network (SSRF), and the URLs stores are made with
//! are https unless the operator allows http.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use paylet::outbound::UrlRules;
use paylet::stores;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::helpers::{Receiver, STYLES, TestApp, error, spawn_app, spawn_app_with};
use crate::notifications::{pay, subscribe};

/// Notification URLs that reach loopback, private, shared, link-local,
/// unique-local or unspecified addresses, in several spellings; and plain http.
const INSIDE: [&str; 15] = [
    "https://127.0.0.1/x",
    "https://localhost/x",
    "https://10.0.0.1/",
    "https://172.16.5.4/",
    "https://192.168.1.1/",
    "https://100.64.0.1/",
    "https://169.254.169.254/latest/meta-data",
    "https://[::1]/",
    "https://[fd00::1]/",
    "https://[fe80::1]/",
    "https://[::ffff:127.0.0.1]/",
    "https://0.0.0.0/",
    "https://2130706433/",
    "https://0x7f.1/",
    "http://shop.example/",
];

async fn notify_url(app: &TestApp) -> Option<String> {
    sqlx::query_scalar("SELECT notify_url FROM stores WHERE id = $1")
        .bind(app.store.as_str())
        .fetch_one(app.db.reader())
        .await
        .unwrap()
}

async fn stores_count(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM stores").fetch_one(app.db.reader()).await.unwrap()
}

#[tokio::test]
async fn a_notification_url_that_reaches_the_inside_is_refused_when_set() {
    let app = spawn_app_with(STYLES[0], |s| s.url_rules = UrlRules::default()).await;
    for url in INSIDE {
        let (status, body) =
            app.admin(reqwest::Method::PUT, "/v1/admin/notification-endpoint", Some(&json!({ "url": url }))).await;
        assert_eq!(status, 422, "{url}: {body}");
        assert_eq!(error(&body, "invalid_url")["field"], "url", "{url}");
        let why = body["error"]["message"].as_str().unwrap();
        assert!(why.contains("public addresses") || why.contains("https"), "{url}: {why}");

        let (ok, _, err) = app.cli_strict(&["store", "notify", "--store", app.store.as_str(), "--url", url]).await;
        assert!(!ok, "{url}: the CLI accepted it");
        assert!(err.contains("--allow-private-notify-urls") || err.contains("--allow-http-urls"), "{url}: {err}");
    }
    assert_eq!(notify_url(&app).await, None, "nothing stored");

    // A store created with such a URL is not created at all.
    let before = stores_count(&app).await;
    #[rustfmt::skip]
    let (ok, _, err) = app.cli_strict(&["store", "create", "--name", "Inside", "--origin", "https://shop.example",
        "--currency", "USD", "--gateway", "stripe", "--gateway-url", "https://api.stripe.com", "--public-key", "pk_x",
        "--secret-key", "sk_x", "--no-webhook", "--notify-url", "https://169.254.169.254/latest/meta-data"]).await;
    assert!(!ok && err.contains("169.254.169.254"), "{err}");
    assert_eq!(stores_count(&app).await, before);
}

/// The outbox's last error for the order's message, once it was tried.
async fn last_error(app: &TestApp, order: &Value) -> String {
    for _ in 0..200 {
        let error: Option<Option<String>> =
            sqlx::query_scalar("SELECT last_error FROM notifications WHERE order_id = $1 AND attempts > 0")
                .bind(order["id"].as_str().unwrap())
                .fetch_optional(app.db.reader())
                .await
                .unwrap();
        if let Some(error) = error {
            return error.unwrap_or_default();
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the message for {} was never tried", order["id"]);
}

#[tokio::test]
async fn a_name_that_resolves_inside_at_delivery_reaches_nothing() {
    let app = spawn_app_with(STYLES[0], |s| s.url_rules = UrlRules::default()).await;
    // Something inside listens; a connection would wait in its backlog.
    let inside = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    inside.set_nonblocking(true).unwrap();
    let port = inside.local_addr().unwrap().port();
    // Each URL passed the check when it was set (its name resolved to a
    // public address then) and leads inside now: stored as is, past the check.
    for url in [
        format!("https://localhost:{port}/hook"),
        format!("https://127.0.0.1:{port}/hook"),
        format!("https://[::ffff:127.0.0.1]:{port}/hook"),
    ] {
        stores::set_notify_url(&app.db, &app.store, Some(&url), UrlRules::OPEN).await.unwrap();
        let order = pay(&app).await;
        let error = last_error(&app, &order).await;
        assert!(error.starts_with("refused:") && error.contains("loopback"), "{url}: {error}");
        let connection = inside.accept();
        assert!(
            matches!(&connection, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
            "{url}: the listener inside was reached: {connection:?}"
        );
    }
}

#[tokio::test]
async fn a_redirect_from_the_endpoint_is_not_followed() {
    let app = spawn_app_with(STYLES[0], |_| {}).await;
    // Where the redirect leads: on a real attack, the metadata address.
    let target = Receiver::start(0).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let redirector = format!("http://{}/hooks", listener.local_addr().unwrap());
    let redirected = Arc::new(AtomicUsize::new(0));
    let (count, location) = (redirected.clone(), target.url.clone());
    let endpoint = axum::Router::new().route(
        "/hooks",
        axum::routing::post(move || async move {
            count.fetch_add(1, Ordering::SeqCst);
            (axum::http::StatusCode::TEMPORARY_REDIRECT, [(axum::http::header::LOCATION, location)])
        }),
    );
    tokio::spawn(async move { axum::serve(listener, endpoint).await });
    subscribe(&app, &redirector).await;

    let order = pay(&app).await;
    let error = last_error(&app, &order).await;
    assert_eq!(error, "HTTP 307 (redirects are not followed)");
    assert!(redirected.load(Ordering::SeqCst) >= 1);
    assert_eq!(target.attempts.load(Ordering::SeqCst), 0, "the redirect was followed");
}

#[tokio::test]
async fn a_store_with_an_http_origin_or_gateway_is_refused_unless_http_is_allowed() {
    let app = spawn_app().await;
    let before = stores_count(&app).await;
    let create = |origin: &'static str, gateway: &str, webhook: bool| {
        #[rustfmt::skip]
        let mut args = vec!["store", "create", "--name", "Plain", "--origin", origin, "--currency", "USD",
                            "--gateway", "stripe", "--gateway-url", gateway, "--public-key", "pk_x",
                            "--secret-key", "sk_x", "--json"];
        if !webhook {
            args.push("--no-webhook");
        }
        args.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    let run = |args: Vec<String>, strict: bool| {
        let app = &app;
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            if strict { app.cli_strict(&args).await } else { app.cli(&args).await }
        }
    };
    let registrations =
        || app.sandbox.request_log().iter().filter(|r| r.method == "POST" && r.path == "/v1/webhook_endpoints").count();
    let registered = registrations();

    let (ok, _, err) = run(create("http://shop.example", "https://api.stripe.com", false), true).await;
    assert!(!ok && err.contains("http://shop.example") && err.contains("--allow-http-urls"), "{err}");
    // Refused before the gateway hears of the store.
    let (ok, _, err) = run(create("https://shop.example", &app.sandbox_base, true), true).await;
    assert!(!ok && err.contains(&app.sandbox_base) && err.contains("--allow-http-urls"), "{err}");
    assert_eq!(registrations(), registered, "nothing registered at the gateway");
    assert_eq!(stores_count(&app).await, before);

    // The operator's allowance lets both through.
    let (ok, _, err) = run(create("http://shop.example", &app.sandbox_base, false), false).await;
    assert!(ok, "{err}");
    assert_eq!(stores_count(&app).await, before + 1);
}
