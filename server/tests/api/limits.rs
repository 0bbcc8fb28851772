//! Abuse limits: a card tester making orders and payment attempts is refused
//! with 429 and `Retry-After`, per address, per store and per order, and
//! instances on one database count together.

use paylet::db::Backend;
use paylet::limits::Limits;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error, spawn_app_with};
use paylet_api::GatewayStyle;

const DECLINED: &str = "4000000000000002";

/// An app whose limits are `limits` and that believes 127.0.0.1 as a proxy,
/// so a test can speak as several client addresses.
async fn app_with(limits: Limits) -> TestApp {
    away_from_a_minutes_end().await;
    spawn_app_with(GatewayStyle::Stripe, |s| {
        s.limits = limits;
        s.transport.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await
}

/// Counts start again each minute: a test that began in a minute's last
/// seconds would see its count reset halfway, so it waits for the next one.
async fn away_from_a_minutes_end() {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis();
    let left = 60_000 - (now % 60_000) as u64;
    if left < 10_000 {
        tokio::time::sleep(std::time::Duration::from_millis(left + 50)).await;
    }
}

/// POSTs `body` to `base` + `path` as the client at `client`; the status, the
/// `Retry-After` header and the body.
async fn post_as(app: &TestApp, base: &str, client: &str, path: &str, body: &Value) -> (u16, Option<u64>, Value) {
    answer(app.http.post(format!("{base}{path}")).header("x-forwarded-for", client).json(body)).await
}

/// A client whose connections come from `address`, one of 127.0.0.0/8: a
/// distinct shopper or attacker, with no proxy in between.
fn client_at(address: &str) -> reqwest::Client {
    reqwest::Client::builder().local_address(address.parse::<std::net::IpAddr>().unwrap()).build().unwrap()
}

/// POSTs `body` to the app from `client`.
async fn post_from(app: &TestApp, client: &reqwest::Client, path: &str, body: &Value) -> (u16, Option<u64>, Value) {
    answer(client.post(app.url(path)).json(body)).await
}

/// The status, the `Retry-After` header and the body.
async fn answer(request: reqwest::RequestBuilder) -> (u16, Option<u64>, Value) {
    let response = request.send().await.unwrap();
    let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap().parse().unwrap());
    (response.status().as_u16(), retry_after, response.json().await.unwrap())
}

fn order_body() -> Value {
    json!({ "items": [{ "sku": "TEE", "quantity": 1 }], "customer": { "email": "ada@example.com" } })
}

/// An app with `limits` that trusts no proxy: each client is its address.
async fn app_seeing_addresses(limits: Limits) -> TestApp {
    away_from_a_minutes_end().await;
    spawn_app_with(GatewayStyle::Stripe, |s| s.limits = limits).await
}

async fn create_order_as(app: &TestApp, base: &str, client: &str) -> (u16, Option<u64>, Value) {
    post_as(app, base, client, &format!("/v1/stores/{}/orders", app.store), &order_body()).await
}

async fn pay_as(app: &TestApp, client: &str, order: &Value, number: &str) -> (u16, Option<u64>, Value) {
    let token = app.tokenize(number).await;
    let body = json!({ "client_secret": order["client_secret"], "token": token });
    post_as(app, &app.base, client, &format!("/v1/orders/{}/payments", order["id"].as_str().unwrap()), &body).await
}

/// Asserts a 429 with the error shape and a `Retry-After` within the minute.
fn assert_limited((status, retry_after, body): &(u16, Option<u64>, Value), what: &str) {
    assert_eq!(*status, 429, "{body}");
    let e = error(body, "rate_limited");
    assert_eq!(e["type"], "rate_limit_error");
    assert!(e["message"].as_str().unwrap().contains(what), "{body}");
    assert!(retry_after.is_some_and(|s| (1..=60).contains(&s)), "Retry-After: {retry_after:?}");
}

async fn orders_in_store(app: &TestApp) -> usize {
    let (status, list) = app.admin_get("/v1/admin/orders?limit=100").await;
    assert_eq!(status, 200, "{list}");
    list["data"].as_array().unwrap().len()
}

#[tokio::test]
async fn too_many_orders_from_one_address_are_refused_and_create_nothing() {
    let app = app_with(Limits { orders_per_ip: 3, ..Limits::default() }).await;
    for _ in 0..3 {
        assert_eq!(create_order_as(&app, &app.base, "198.51.100.7").await.0, 201);
    }
    assert_limited(&create_order_as(&app, &app.base, "198.51.100.7").await, "orders from your network");
    assert_eq!(orders_in_store(&app).await, 3, "a refused order is not written");
    // Another shopper is not held up by the first one's limit.
    assert_eq!(create_order_as(&app, &app.base, "203.0.113.50").await.0, 201);
}

#[tokio::test]
async fn payment_attempts_are_limited_per_order_and_per_address() {
    let app = app_with(Limits { payments_per_order: 2, payments_per_ip: 3, ..Limits::default() }).await;
    let tester = "198.51.100.7";
    let first = create_order_as(&app, &app.base, tester).await.2;
    for _ in 0..2 {
        let (status, _, result) = pay_as(&app, tester, &first, DECLINED).await;
        assert_eq!((status, &result["decline"]["code"]), (200, &json!("card_declined")), "{result}");
    }
    let charges = app.charges_at_gateway();
    assert_limited(&pay_as(&app, tester, &first, DECLINED).await, "payment attempts for this order");
    assert_eq!(app.charges_at_gateway(), charges, "a refused attempt never reaches the gateway");

    // A fresh order does not reset the address's count: the third attempt
    // counted, so the tester's next one is over the limit of 3.
    let second = create_order_as(&app, &app.base, tester).await.2;
    assert_limited(&pay_as(&app, tester, &second, DECLINED).await, "payment attempts from your network");
    // The real shopper on another network still pays.
    let (status, _, result) = pay_as(&app, "203.0.113.50", &second, "4242424242424242").await;
    assert_eq!((status, &result["status"]), (200, &json!("paid")), "{result}");
}

#[tokio::test]
async fn a_store_wide_limit_holds_whatever_the_address() {
    let app = app_with(Limits { payments_per_store: 2, ..Limits::default() }).await;
    for client in ["198.51.100.1", "198.51.100.2"] {
        let order = create_order_as(&app, &app.base, client).await.2;
        assert_eq!(pay_as(&app, client, &order, DECLINED).await.0, 200);
    }
    let order = create_order_as(&app, &app.base, "198.51.100.3").await.2;
    assert_limited(&pay_as(&app, "198.51.100.3", &order, DECLINED).await, "payment attempts at this store");
}

#[tokio::test]
async fn two_instances_on_one_postgres_database_enforce_one_limit() {
    let app = app_with(Limits { orders_per_ip: 4, ..Limits::default() }).await;
    if app.db.backend() == Backend::Sqlite {
        return; // SQLite's counts live in the one process that serves its file
    }
    let second = app.second_server().await;
    for base in [&app.base, &second, &app.base, &second] {
        assert_eq!(create_order_as(&app, base, "198.51.100.7").await.0, 201);
    }
    for base in [&app.base, &second] {
        assert_limited(&create_order_as(&app, base, "198.51.100.7").await, "orders");
    }
    assert_eq!(orders_in_store(&app).await, 4);
}

#[tokio::test]
async fn a_forwarded_address_from_an_untrusted_peer_counts_as_the_peer() {
    away_from_a_minutes_end().await;
    let app =
        spawn_app_with(GatewayStyle::Stripe, |s| s.limits = Limits { orders_per_ip: 2, ..Limits::default() }).await;
    // A script rotating X-Forwarded-For gets nowhere when no proxy is trusted.
    let mut statuses = Vec::new();
    for client in ["198.51.100.1", "198.51.100.2", "198.51.100.3"] {
        statuses.push(create_order_as(&app, &app.base, client).await.0);
    }
    assert_eq!(statuses, [201, 201, 429]);
}

#[tokio::test]
async fn serve_refuses_an_unknown_limit() {
    let app = spawn_app_with(GatewayStyle::Stripe, |_| {}).await;
    let (ok, _, err) = app.cli(&["serve", "--listen", "127.0.0.1:0", "--rate-limit", "payments_per_moon=3"]).await;
    assert!(!ok);
    assert!(err.contains("payments_per_moon"), "{err}");
}

#[tokio::test]
async fn a_flood_of_refused_orders_from_one_address_does_not_close_the_store_to_others() {
    let app = app_seeing_addresses(Limits { orders_per_ip: 3, orders_per_store: 10, ..Limits::default() }).await;
    let path = format!("/v1/stores/{}/orders", app.store);
    let flooder = client_at("127.0.0.20");
    let mut created = 0;
    for _ in 0..300 {
        let (status, ..) = post_from(&app, &flooder, &path, &order_body()).await;
        created += usize::from(status == 201);
    }
    assert_eq!(created, 3, "the flooder gets its own address's budget and no more");
    // Every other address still has its whole budget, and the store takes
    // their orders: 3 + 3 + 3 is within its 10.
    for address in ["127.0.0.21", "127.0.0.22"] {
        let shopper = client_at(address);
        for _ in 0..3 {
            let (status, _, body) = post_from(&app, &shopper, &path, &order_body()).await;
            assert_eq!(status, 201, "{address}: {body}");
        }
    }
    assert_eq!(orders_in_store(&app).await, 9);
}

#[tokio::test]
async fn payment_attempts_with_a_wrong_client_secret_do_not_lock_the_order() {
    let app = app_seeing_addresses(Limits { payments_per_order: 2, ..Limits::default() }).await;
    let order = app.order().await;
    let path = format!("/v1/orders/{}/payments", order["id"].as_str().unwrap());
    let attacker = client_at("127.0.0.30");
    for guess in 0..20 {
        let token = app.tokenize("4242424242424242").await;
        let body = json!({ "client_secret": format!("cs_wrong{guess}"), "token": token });
        let (status, _, body) = post_from(&app, &attacker, &path, &body).await;
        assert_eq!(status, 404, "{body}");
    }
    let token = app.tokenize("4242424242424242").await;
    let body = json!({ "client_secret": order["client_secret"], "token": token });
    let (status, _, result) = post_from(&app, &client_at("127.0.0.31"), &path, &body).await;
    assert_eq!((status, &result["status"]), (200, &json!("paid")), "{result}");
}

#[tokio::test]
async fn an_address_past_its_payment_limit_does_not_use_up_the_orders_budget() {
    let app = app_seeing_addresses(Limits { payments_per_ip: 2, payments_per_order: 3, ..Limits::default() }).await;
    let order = app.order().await;
    let path = format!("/v1/orders/{}/payments", order["id"].as_str().unwrap());
    // Someone with the order's secret (a script on the shop's page) tries
    // again and again from one address.
    let script = client_at("127.0.0.40");
    let mut statuses = Vec::new();
    for _ in 0..10 {
        let body = json!({ "client_secret": order["client_secret"], "token": app.tokenize(DECLINED).await });
        statuses.push(post_from(&app, &script, &path, &body).await.0);
    }
    assert_eq!(statuses, [200, 200, 429, 429, 429, 429, 429, 429, 429, 429]);
    // Only the two it was allowed counted against the order: the shopper has one left.
    let body = json!({ "client_secret": order["client_secret"], "token": app.tokenize("4242424242424242").await });
    let (status, _, result) = post_from(&app, &client_at("127.0.0.41"), &path, &body).await;
    assert_eq!((status, &result["status"]), (200, &json!("paid")), "{result}");
}

#[tokio::test]
async fn confirming_again_and_again_is_limited_like_paying() {
    let app = app_seeing_addresses(Limits { payments_per_order: 2, ..Limits::default() }).await;
    let order = app.order().await;
    let path = format!("/v1/orders/{}/payments/confirm", order["id"].as_str().unwrap());
    let script = client_at("127.0.0.50");
    let body = json!({ "client_secret": order["client_secret"] });
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(post_from(&app, &script, &path, &body).await.0);
    }
    assert_eq!(statuses, [409, 409, 429, 429], "nothing to confirm, then over the order's limit");
}
