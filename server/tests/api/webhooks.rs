//! The gateway's side of a payment: the hosted page, its signed webhooks
//! (however the network delivers them), and reconciliation when none arrive.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use paylet::db::now_millis;
use paylet::{reconcile, stores};
use paylet_api::GatewayStyle;
use paylet_secret::Secret;
use serde_json::{Value, json};
use sqlx::Row;
use tokio::net::TcpListener;

use crate::helpers::{Receiver, SHOP_ORIGIN, STYLES, TestApp, error, history, spawn_app_behind, spawn_app_with};
use crate::notifications::queued;

const GOOD_CARD: &str = "4242 4242 4242 4242";

#[tokio::test]
async fn the_hosted_page_pays_the_order_through_its_webhook() {
    for style in STYLES {
        let app = spawn_app_with(style, |_| {}).await;
        let order = app.order().await;
        let url = app.hosted_page(&order).await;
        assert_eq!(app.hosted_page(&order).await, url, "{style:?}: asking again reuses the page");

        let back = app.pay_on_hosted_page(&url, GOOD_CARD).await;
        let expected =
            format!("{SHOP_ORIGIN}/checkout?paylet_order={}&paylet_return=success", order["id"].as_str().unwrap());
        assert!(back.starts_with(&expected), "{style:?}: {back}");
        let detail = app.eventually(&order, "paid by the gateway's webhook", |d| d["status"] == "paid").await;
        assert_eq!(detail["payments"][0]["kind"], "hosted");
        assert_eq!(detail["payments"][0]["status"], "succeeded");
        assert_eq!(app.payments_taken(), 1);
    }
}

#[tokio::test]
async fn a_return_url_off_the_stores_site_is_refused() {
    let app = spawn_app_with(GatewayStyle::Stripe, |_| {}).await;
    let order = app.order().await;
    let body = json!({ "client_secret": order["client_secret"], "return_url": "https://evil.example/steal" });
    let (status, body) =
        app.post_json(&format!("/v1/orders/{}/hosted-session", order["id"].as_str().unwrap()), &body).await;
    assert_eq!(status, 422);
    assert_eq!(error(&body, "invalid_return_url")["field"], "return_url");
}

#[tokio::test]
async fn the_shoppers_return_shows_paid_only_once_the_gateway_confirms_it() {
    for style in STYLES {
        let app = spawn_app_with(style, |_| {}).await;
        app.faults(json!({ "webhook_drop_first": 1000 })).await;
        let order = app.order().await;
        let url = app.hosted_page(&order).await;
        app.pay_on_hosted_page(&url, GOOD_CARD).await;

        // Back on the merchant's page with `paylet_return=success` in the URL,
        // which anyone can type: the order is not paid on its say-so.
        assert_eq!(app.order_status(&order).await, "pending", "{style:?}");
        // The widget asks the server to check with the gateway.
        assert_eq!(app.refreshed_status(&order).await, "paid", "{style:?}");
    }
}

#[tokio::test]
async fn a_webhook_duplicated_reordered_delayed_and_dropped_is_applied_once() {
    for style in STYLES {
        let app = spawn_app_with(style, |_| {}).await;
        let merchant = Receiver::start(0).await;
        app.admin(reqwest::Method::PUT, "/v1/admin/notification-endpoint", Some(&json!({ "url": merchant.url }))).await;
        let faults = json!({ "webhook_duplicates": 4, "webhook_reorder": true, "webhook_delay_ms": 200, "webhook_drop_first": 2 });
        app.faults(faults).await;

        // A decline first: its failure event, late and out of order, must not
        // undo the payment that follows.
        let order = app.order().await;
        let declined = app.tokenize("4000000000000002").await;
        assert_eq!(app.pay(&order, &declined).await.1["decline"]["code"], "card_declined");
        let url = app.hosted_page(&order).await;
        app.pay_on_hosted_page(&url, GOOD_CARD).await;

        app.eventually(&order, "paid by the gateway's webhook", |d| d["status"] == "paid").await;
        app.webhooks_settled().await;
        let detail = app.detail(&order).await;
        assert_eq!(detail["status"], "paid", "{style:?}");
        assert_eq!(history(&detail, "status_changed", "→ paid"), 1, "{style:?}: {detail}");
        assert_eq!(history(&detail, "status_changed", "paid →"), 0, "{style:?}: {detail}");

        // Each event reached the server at least five times and is stored once.
        let delivered = delivered_events(&app);
        assert!(!delivered.is_empty());
        for (event, copies) in &delivered {
            assert!(*copies >= 5, "{style:?}: {event} delivered {copies} times");
        }
        assert_eq!(stored_events(&app).await, delivered.len(), "{style:?}");
        // And the merchant hears of the payment once.
        assert_eq!(queued(&app).await, 1, "{style:?}");
        merchant.wait_for(1).await;
    }
}

/// Each event the sandbox delivered (answered 2xx) for the app's account, and how often.
fn delivered_events(app: &TestApp) -> Vec<(String, usize)> {
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    for d in app.sandbox.deliveries() {
        if d.account_id == app.account.id && d.outcome == "delivered" {
            *counts.entry(d.event_id).or_default() += 1;
        }
    }
    counts.into_iter().collect()
}

async fn stored_events(app: &TestApp) -> usize {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM gateway_events WHERE store_id = $1")
        .bind(app.store.as_str())
        .fetch_one(app.db.reader())
        .await
        .unwrap();
    usize::try_from(row.get::<i64, _>("n")).unwrap()
}

#[tokio::test]
async fn a_webhook_lost_entirely_is_recovered_by_reconciliation() {
    for style in STYLES {
        let app = spawn_app_with(style, |_| {}).await;
        app.faults(json!({ "webhook_drop_first": 1000 })).await;
        let order = app.order().await;
        let url = app.hosted_page(&order).await;
        app.pay_on_hosted_page(&url, GOOD_CARD).await;
        app.webhooks_settled().await;
        assert_eq!(app.order_status(&order).await, "pending", "{style:?}: no webhook arrived");

        // Not yet due: nothing is asked.
        assert_eq!(reconcile::run_once(&app.state, now_millis()).await.unwrap(), 0);
        let later = now_millis() + 11 * 60_000;
        assert_eq!(reconcile::run_once(&app.state, later).await.unwrap(), 1, "{style:?}");
        assert_eq!(app.order_status(&order).await, "paid", "{style:?}");
        // Settled: the next round has nothing to do.
        assert_eq!(reconcile::run_once(&app.state, later).await.unwrap(), 0);
    }
}

#[tokio::test]
async fn an_attempt_that_cannot_be_read_back_does_not_stop_reconciling_the_others() {
    let app = spawn_app_with(GatewayStyle::Stripe, |_| {}).await;
    app.faults(json!({ "webhook_drop_first": 1000 })).await;
    let order = app.order().await;
    let url = app.hosted_page(&order).await;
    app.pay_on_hosted_page(&url, GOOD_CARD).await;
    app.webhooks_settled().await;
    // A row of a kind no release writes (a hand edit, say), due before the other.
    sqlx::query(
        "INSERT INTO payment_attempts (id, order_id, store_id, kind, status, amount, currency, check_at, \
         created_at, updated_at) VALUES ('pay_handmade', $1, $2, 'cash', 'processing', 100, 'USD', 0, 0, 0)",
    )
    .bind(order["id"].as_str().unwrap())
    .bind(app.store.as_str())
    .execute(app.db.writer())
    .await
    .unwrap();
    let later = now_millis() + 11 * 60_000;
    assert_eq!(reconcile::run_once(&app.state, later).await.unwrap(), 1);
    assert_eq!(app.order_status(&order).await, "paid");
}

#[tokio::test]
async fn a_challenge_passed_by_a_shopper_who_never_came_back_is_recovered() {
    // Stripe style only: a Square-style payment is made when the widget
    // confirms, so an unfinished verification leaves nothing to recover.
    let app = spawn_app_with(GatewayStyle::Stripe, |_| {}).await;
    app.faults(json!({ "webhook_drop_first": 1000 })).await;
    let order = app.order().await;
    let token = app.tokenize("4000002500003155").await;
    let (_, result) = app.pay(&order, &token).await;
    app.challenge(result["next_action"]["redirect_url"].as_str().unwrap(), true).await;
    assert_eq!(app.order_status(&order).await, "requires_action");

    reconcile::run_once(&app.state, now_millis() + 11 * 60_000).await.unwrap();
    assert_eq!(app.order_status(&order).await, "paid");
}

/// A signed event of a type Paylet does not act on, as `style`'s gateway sends it.
fn ping(style: GatewayStyle, id: &str) -> Vec<u8> {
    let event = match style {
        GatewayStyle::Stripe => {
            json!({ "id": id, "object": "event", "type": "customer.created", "data": { "object": {} } })
        }
        GatewayStyle::Square => json!({ "event_id": id, "type": "customer.created", "data": { "object": {} } }),
    };
    event.to_string().into_bytes()
}

/// Posts `body` to the store's webhook URL signed with `secret`, `age_secs` old.
async fn send_signed(app: &TestApp, secret: &Secret, body: Vec<u8>, age_secs: i64) -> (u16, Value) {
    let store = stores::find(&app.db, &app.store).await.unwrap();
    let url = store.webhook.url.clone().unwrap();
    let (name, value) = match app.style {
        GatewayStyle::Stripe => {
            let at = now_millis() / 1000 - age_secs;
            ("stripe-signature", paylet_webhook::stripe::header(&[secret], at, &body).unwrap())
        }
        GatewayStyle::Square => {
            ("x-square-hmacsha256-signature", paylet_webhook::square::sign(secret, &url, &body).unwrap())
        }
    };
    let response = app.http.post(&url).header(name, value).body(body).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Square's dashboard "send test event" signs a notification whose `data` is
/// `{type, id}` with no `object`; Square expects a 2xx, and retries (and
/// records failed deliveries) otherwise. Nothing in it is acted on.
#[tokio::test]
async fn squares_test_event_is_acknowledged_and_stored() {
    let app = spawn_app_with(GatewayStyle::Square, |_| {}).await;
    let secret = stores::find(&app.db, &app.store).await.unwrap().webhook.secret.unwrap();
    for (i, kind) in ["payment.updated", "refund.updated", "customer.created"].into_iter().enumerate() {
        let object = kind.split('.').next().unwrap();
        let test_event = json!({
            "merchant_id": "MLEFBHHSJGVHD", "type": kind, "event_id": format!("test-{i}-3f4c1f7e"),
            "created_at": "2026-12-07T06:00:00Z", "data": { "type": object, "id": "Kxy8LfVbEWuWxRtYnPq1" },
        });
        let (status, body) = send_signed(&app, &secret, test_event.to_string().into_bytes(), 0).await;
        assert_eq!(status, 200, "{kind}: {body}");
        assert_eq!(stored_events(&app).await, i + 1, "{kind}");
    }
}

/// Paylet speaks one Stripe API version, whatever the account's default:
/// every request pins it, and the endpoint it registers gets events in it.
#[tokio::test]
async fn every_stripe_call_and_the_webhook_endpoint_pin_one_api_version() {
    let app = spawn_app_with(GatewayStyle::Stripe, |_| {}).await;
    let order = app.order().await;
    assert_eq!(app.pay(&order, &app.tokenize("4242424242424242").await).await.1["status"], "paid");
    app.hosted_page(&app.order().await).await;
    let (status, _) =
        app.admin_post(&format!("/v1/admin/orders/{}/refunds", order["id"].as_str().unwrap()), &json!({})).await;
    assert_eq!(status, 201);

    let pinned = paylet_gateway::stripe::API_VERSION;
    let log = app.sandbox.request_log();
    // The browser's own calls (tokens) come from the widget, not from Paylet.
    let from_paylet: Vec<_> = log.iter().filter(|r| r.origin.is_none() && r.path != "/v1/tokens").collect();
    assert!(from_paylet.len() >= 4, "{from_paylet:#?}");
    for request in from_paylet {
        assert_eq!(request.stripe_version.as_deref(), Some(pinned), "{request:?}");
    }
    let endpoints = app.sandbox_get("/v1/webhook_endpoints", app.account.secret_key.expose()).await;
    assert_eq!(endpoints["data"][0]["api_version"], pinned, "{endpoints}");
}

#[tokio::test]
async fn a_bad_signature_is_a_400_and_changes_nothing() {
    for style in STYLES {
        let app = spawn_app_with(style, |_| {}).await;
        let wrong = Secret::new("whsec_not_the_stores_secret".to_owned());
        let (status, body) = send_signed(&app, &wrong, ping(style, "evt_forged"), 0).await;
        assert_eq!(status, 400, "{style:?}: {body}");
        error(&body, "invalid_signature");
        assert_eq!(stored_events(&app).await, 0);

        let store = stores::find(&app.db, &app.store).await.unwrap();
        let url = store.webhook.url.clone().unwrap();
        let unsigned = app.http.post(&url).body(ping(style, "evt_unsigned")).send().await.unwrap();
        assert_eq!(unsigned.status(), 400, "{style:?}");
    }
}

#[tokio::test]
async fn a_stale_stripe_signature_is_refused() {
    let app = spawn_app_with(GatewayStyle::Stripe, |s| s.webhook_tolerance = Duration::from_secs(60)).await;
    let secret = stores::find(&app.db, &app.store).await.unwrap().webhook.secret.unwrap();
    assert_eq!(send_signed(&app, &secret, ping(app.style, "evt_fresh"), 30).await.0, 200);
    let (status, body) = send_signed(&app, &secret, ping(app.style, "evt_stale"), 120).await;
    assert_eq!(status, 400, "{body}");
    error(&body, "invalid_signature");
}

#[tokio::test]
async fn during_a_rotation_both_secrets_verify_and_afterwards_only_the_new_one() {
    for style in STYLES {
        let app = spawn_app_with(style, |_| {}).await;
        let store = stores::find(&app.db, &app.store).await.unwrap();
        let (old, url) = (store.webhook.secret.clone().unwrap(), store.webhook.url.clone().unwrap());
        let new = Secret::new("whsec_rotated_secret_one".to_owned());
        let store = stores::set_webhook(&app.db, &store, None, &url, &new, Duration::from_secs(3600)).await.unwrap();
        assert_eq!(send_signed(&app, &old, ping(style, "evt_old"), 0).await.0, 200, "{style:?}");
        assert_eq!(send_signed(&app, &new, ping(style, "evt_new"), 0).await.0, 200, "{style:?}");

        let newest = Secret::new("whsec_rotated_secret_two".to_owned());
        stores::set_webhook(&app.db, &store, None, &url, &newest, Duration::ZERO).await.unwrap();
        assert_eq!(send_signed(&app, &new, ping(style, "evt_after"), 0).await.0, 400, "{style:?}");
        assert_eq!(send_signed(&app, &old, ping(style, "evt_after_old"), 0).await.0, 400, "{style:?}");
        assert_eq!(send_signed(&app, &newest, ping(style, "evt_newest"), 0).await.0, 200, "{style:?}");
    }
}

#[tokio::test]
async fn an_event_for_an_unknown_order_is_stored_and_acknowledged() {
    let app = spawn_app_with(GatewayStyle::Stripe, |_| {}).await;
    let secret = stores::find(&app.db, &app.store).await.unwrap().webhook.secret.unwrap();
    let intent = json!({ "id": "pi_elsewhere", "object": "payment_intent", "status": "succeeded",
                         "metadata": { "paylet_reference": "ord_00000000000000000000" } });
    let event = json!({ "id": "evt_unknown", "type": "payment_intent.succeeded", "data": { "object": intent } });
    let (status, receipt) = send_signed(&app, &secret, event.to_string().into_bytes(), 0).await;
    assert_eq!(status, 200, "{receipt}");
    assert_eq!(receipt["duplicate"], false);
    // The merchant finds it, as the gateway sent it.
    let (status, list) = app.admin(reqwest::Method::GET, "/v1/admin/gateway-events/unmatched", None).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["data"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list["data"][0]["event_id"], "evt_unknown");
    assert_eq!(list["data"][0]["event_type"], "payment_intent.succeeded");
    assert_eq!(list["data"][0]["payload"], event);
    // The same event again is a duplicate, still acknowledged, listed once.
    let (status, receipt) = send_signed(&app, &secret, event.to_string().into_bytes(), 0).await;
    assert_eq!((status, &receipt["duplicate"]), (200, &json!(true)));
    let (_, list) = app.admin(reqwest::Method::GET, "/v1/admin/gateway-events/unmatched", None).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1, "{list}");
    // An event about one of the store's own orders is not listed.
    let order = app.order().await;
    let token = app.tokenize("4242424242424242").await;
    assert_eq!(app.pay(&order, &token).await.0, 200);
    let intent = json!({ "id": "pi_other", "object": "payment_intent", "status": "succeeded",
                         "metadata": { "paylet_reference": order["id"] } });
    let own = json!({ "id": "evt_own", "type": "payment_intent.succeeded", "data": { "object": intent } });
    assert_eq!(send_signed(&app, &secret, own.to_string().into_bytes(), 0).await.0, 200);
    let (_, list) = app.admin(reqwest::Method::GET, "/v1/admin/gateway-events/unmatched", None).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1, "{list}");
    // Another store's admin key sees none of it.
    let (_, other_key) = app.other_store().await;
    let (_, list) = app.admin_as(&other_key, reqwest::Method::GET, "/v1/admin/gateway-events/unmatched", None).await;
    assert_eq!(list["data"], json!([]), "{list}");
}

/// Stands between the gateway and two server instances and turns every
/// webhook into a storm: each delivery goes to each instance `COPIES` times
/// at once. Answers 2xx only if every copy was answered 2xx.
struct Storm {
    url: String,
    targets: Arc<Mutex<Vec<String>>>,
    refused: Arc<Mutex<Vec<u16>>>,
}

const COPIES: usize = 3;

impl Storm {
    async fn start() -> Storm {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let targets = Arc::new(Mutex::new(Vec::<String>::new()));
        let refused = Arc::new(Mutex::new(Vec::new()));
        let (to, bad) = (targets.clone(), refused.clone());
        let http = reqwest::Client::new();
        let app = axum::Router::new().fallback(move |uri: axum::http::Uri, headers: HeaderMap, body: Bytes| {
            let (to, bad, http) = (to.clone(), bad.clone(), http.clone());
            async move {
                let mut sends = tokio::task::JoinSet::new();
                for base in to.lock().unwrap().clone() {
                    for _ in 0..COPIES {
                        let mut request = http.post(format!("{base}{uri}")).body(body.clone());
                        for (name, value) in &headers {
                            if name != "host" && name != "content-length" {
                                request = request.header(name, value);
                            }
                        }
                        sends.spawn(async move { request.send().await.map(|r| r.status().as_u16()).unwrap_or(0) });
                    }
                }
                let mut all_ok = true;
                while let Some(status) = sends.join_next().await {
                    let status = status.unwrap();
                    if !(200..300).contains(&status) {
                        bad.lock().unwrap().push(status);
                        all_ok = false;
                    }
                }
                if all_ok { StatusCode::OK } else { StatusCode::BAD_GATEWAY }
            }
        });
        tokio::spawn(async move { axum::serve(listener, app).await });
        Storm { url, targets, refused }
    }
}

#[tokio::test]
async fn two_instances_apply_each_event_of_a_duplicate_storm_once() {
    for style in STYLES {
        let storm = Storm::start().await;
        let app = spawn_app_behind(style, |_| {}, Some(&storm.url)).await;
        let second = app.second_server().await;
        *storm.targets.lock().unwrap() = vec![app.base.clone(), second];
        let merchant = Receiver::start(0).await;
        app.admin(reqwest::Method::PUT, "/v1/admin/notification-endpoint", Some(&json!({ "url": merchant.url }))).await;
        // Five deliveries of each event, each fanned out six ways.
        app.faults(json!({ "webhook_duplicates": 4, "webhook_reorder": true })).await;

        let mut orders = Vec::new();
        for _ in 0..6 {
            let order = app.order().await;
            let url = app.hosted_page(&order).await;
            app.pay_on_hosted_page(&url, GOOD_CARD).await;
            orders.push(order);
        }
        for order in &orders {
            app.eventually(order, "paid by the storm", |d| d["status"] == "paid").await;
        }
        app.webhooks_settled().await;

        assert_eq!(storm.refused.lock().unwrap().clone(), Vec::<u16>::new(), "{style:?}: every copy acknowledged");
        for order in &orders {
            let detail = app.detail(order).await;
            assert_eq!(history(&detail, "status_changed", "→ paid"), 1, "{style:?}: {detail}");
        }
        let delivered = delivered_events(&app);
        assert!(delivered.iter().all(|(_, copies)| *copies >= 5), "{style:?}: {delivered:?}");
        assert_eq!(stored_events(&app).await, delivered.len(), "{style:?}");
        assert_eq!(queued(&app).await, i64::try_from(orders.len()).unwrap(), "{style:?}: one order.paid per order");
        merchant.wait_for(orders.len()).await;
        assert_eq!(app.payments_taken(), orders.len());
    }
}

#[tokio::test]
async fn two_instances_share_reconciliation_and_check_each_payment_once() {
    let app = spawn_app_with(GatewayStyle::Stripe, |_| {}).await;
    app.faults(json!({ "webhook_drop_first": 1000 })).await;
    let mut orders = Vec::new();
    for _ in 0..6 {
        let order = app.order().await;
        let url = app.hosted_page(&order).await;
        app.pay_on_hosted_page(&url, GOOD_CARD).await;
        orders.push(order);
    }
    let (_, other) = app.second_instance().await;

    let later = now_millis() + 11 * 60_000;
    let (mine, theirs) = tokio::join!(reconcile::run_once(&app.state, later), reconcile::run_once(&other, later));
    assert_eq!(mine.unwrap() + theirs.unwrap(), orders.len(), "each payment claimed by exactly one instance");
    for order in &orders {
        assert_eq!(app.order_status(order).await, "paid");
    }
}
