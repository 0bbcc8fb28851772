//! Property tests of the JSON API against the real server: arbitrary JSON,
//! arbitrary bytes, deeply nested documents and valid bodies with one part
//! replaced, removed or added, posted to every endpoint that reads a body, and
//! signed gateway webhooks whose events are arbitrary. Whatever arrives, the
//! answer is never a 5xx, and every error is the JSON error shape with a
//! `code`. Case counts are modest, to keep the suite fast; the cargo-fuzz
//! targets in `fuzz/` go deeper into the parsers (`cargo xtask bench fuzz`).

use std::sync::atomic::{AtomicUsize, Ordering};

use paylet::db::now_millis;
use paylet::stores;
use paylet_api::GatewayStyle;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use reqwest::Method;
use serde_json::{Map, Value, json};
use tokio::runtime::Handle;

use crate::helpers::{SHOP_ORIGIN, TestApp, spawn_app, spawn_app_with};

/// An endpoint that reads a body, and a valid body for it.
pub struct Endpoint {
    pub method: Method,
    pub path: String,
    pub admin: bool,
    pub template: Value,
}

/// Every endpoint that reads a JSON body, with a valid body for each: on an
/// order waiting for payment, a paid order for refunds, and the store's
/// catalog.
pub async fn endpoints(app: &TestApp) -> Vec<Endpoint> {
    let pending = app.order().await;
    let paid = app.order().await;
    let token = app.tokenize("4242424242424242").await;
    let (status, result) = app.pay(&paid, &token).await;
    assert_eq!(status, 200, "{result}");
    let (id, secret) = (pending["id"].as_str().unwrap(), &pending["client_secret"]);
    let paid_id = paid["id"].as_str().unwrap();
    let address = json!({ "line1": "1 Main St", "city": "Springfield", "postal_code": "94103", "country": "US" });
    let public = |method: Method, path: String, template: Value| Endpoint { method, path, admin: false, template };
    let admin =
        |method: Method, path: &str, template: Value| Endpoint { method, path: path.to_owned(), admin: true, template };
    vec![
        public(
            Method::POST,
            format!("/v1/stores/{}/orders", app.store),
            json!({
                "items": [{ "sku": "TEE", "quantity": 2 }, { "sku": "MUG", "quantity": 1 }],
                "customer": { "email": "ada@example.com", "name": "Ada", "billing_address": address, "shipping_address": address },
            }),
        ),
        public(Method::POST, format!("/v1/orders/{id}/payments"), json!({ "client_secret": secret, "token": "tok_x" })),
        public(
            Method::POST,
            format!("/v1/orders/{id}/payments/confirm"),
            json!({ "client_secret": secret, "verification_token": "vt_x" }),
        ),
        public(
            Method::POST,
            format!("/v1/orders/{id}/hosted-session"),
            json!({ "client_secret": secret, "return_url": format!("{SHOP_ORIGIN}/checkout") }),
        ),
        public(
            Method::POST,
            format!("/v1/csp-reports/{}", app.store),
            json!({ "csp-report": { "document-uri": "https://pay.example/widget", "violated-directive": "script-src", "blocked-uri": "https://evil.example/x.js" } }),
        ),
        public(
            Method::POST,
            format!("/v1/webhooks/{}/stripe", app.store),
            json!({ "id": "evt_1", "type": "payment_intent.succeeded", "data": { "object": { "id": "pi_1", "status": "succeeded" } } }),
        ),
        admin(
            Method::POST,
            "/v1/admin/products",
            json!({ "sku": "HAT", "name": "Hat", "price": { "amount": 1200, "currency": "USD" }, "active": true }),
        ),
        admin(
            Method::PATCH,
            "/v1/admin/products/MUG",
            json!({ "name": "Mug", "price": { "amount": 1800, "currency": "USD" }, "active": true }),
        ),
        admin(
            Method::POST,
            "/v1/admin/checkout-sessions",
            json!({
                "line_items": [{ "name": "Gift", "sku": "GIFT", "quantity": 1, "unit_amount": 500 }],
                "customer_email": "ada@example.com", "metadata": { "cart": "c1" }, "expires_in_minutes": 30,
            }),
        ),
        admin(
            Method::POST,
            &format!("/v1/admin/orders/{paid_id}/refunds"),
            json!({ "amount": { "amount": 1, "currency": "USD" }, "reason": "requested_by_customer" }),
        ),
        admin(Method::PUT, "/v1/admin/notification-endpoint", json!({ "url": "https://merchant.example/hooks" })),
    ]
}

/// Names the API uses, so arbitrary objects now and then have the right keys.
const KEYS: [&str; 24] = [
    "items",
    "sku",
    "quantity",
    "customer",
    "email",
    "name",
    "billing_address",
    "country",
    "postal_code",
    "client_secret",
    "token",
    "return_url",
    "price",
    "amount",
    "currency",
    "active",
    "line_items",
    "unit_amount",
    "metadata",
    "url",
    "csp-report",
    "checkout_session",
    "data",
    "object",
];

/// Values at the edges of what the API takes.
fn edge_value() -> impl Strategy<Value = Value> {
    prop::sample::select(vec![
        json!(0),
        json!(-1),
        json!(1),
        json!(u32::MAX),
        json!(u64::from(u32::MAX) + 1),
        json!(i64::MAX),
        json!(i64::MIN),
        json!(u64::MAX),
        json!(1e300),
        json!(-0.0),
        json!(0.5),
        json!(""),
        json!(" "),
        json!("TEE"),
        json!("USD"),
        json!("usd"),
        json!("XXX"),
        json!("US"),
        json!("ada@example.com"),
        json!("https://shop.example/checkout"),
        json!("javascript:alert(1)"),
        json!("ord_"),
        json!("\u{0}"),
        json!("\u{202e}"),
        json!("💳"),
        json!("x".repeat(10_000)),
        json!("4242 4242 4242 4242"),
        json!({}),
        json!([]),
        Value::Null,
    ])
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        3 => edge_value(),
        1 => any::<bool>().prop_map(Value::from),
        2 => any::<i64>().prop_map(Value::from),
        1 => any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f).map(Value::Number)),
        3 => "\\PC{0,40}".prop_map(Value::from),
    ];
    let key = prop_oneof![prop::sample::select(KEYS.to_vec()).prop_map(str::to_owned), "\\PC{0,12}"];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Bytes that are not JSON, nearly JSON, or JSON nested deeper than any
/// body needs.
fn raw_body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..512),
        "\\PC{0,256}".prop_map(String::into_bytes),
        (1usize..300).prop_map(|n| format!("{}{}", "[".repeat(n), "]".repeat(n)).into_bytes()),
        (1usize..300).prop_map(|n| format!("{}1{}", r#"{"items":"#.repeat(n), "}".repeat(n)).into_bytes()),
        (1usize..300).prop_map(|n| "[".repeat(n).into_bytes()),
        json_value().prop_map(|v| {
            // Valid JSON cut short.
            let text = v.to_string();
            let cut = text.len() / 2;
            text.as_bytes()[..cut].to_vec()
        }),
    ]
}

/// What to do to one node of a valid body.
#[derive(Debug, Clone)]
enum Change {
    Replace(Value),
    /// Another value of the same kind: a string for a string, a number for
    /// a number, so the body still parses and the handler sees the value.
    SameKind {
        text: String,
        number: Value,
    },
    Remove,
    Add(String, Value),
}

fn change() -> impl Strategy<Value = Change> {
    let text = prop_oneof![
        "\\PC{0,40}",
        edge_value().prop_filter_map("a string", |v| v.as_str().map(str::to_owned)),
        "[ -~]{0,3}(@|://|\\.)[ -~]{0,12}",
    ];
    let number = prop_oneof![
        edge_value().prop_filter("a number", Value::is_number),
        any::<i64>().prop_map(Value::from),
        (-3i64..5000).prop_map(Value::from),
    ];
    prop_oneof![
        3 => json_value().prop_map(Change::Replace),
        4 => (text, number).prop_map(|(text, number)| Change::SameKind { text, number }),
        2 => Just(Change::Remove),
        1 => ("\\PC{0,12}", json_value()).prop_map(|(k, v)| Change::Add(k, v)),
    ]
}

/// Number of nodes in `value`, itself included.
fn nodes(value: &Value) -> usize {
    1 + match value {
        Value::Array(items) => items.iter().map(nodes).sum(),
        Value::Object(map) => map.values().map(nodes).sum(),
        _ => 0,
    }
}

/// Applies `change` to the node numbered `target` (pre-order) in `value`.
/// Removing the root empties it; adding to a non-object wraps nothing and
/// replaces instead.
fn apply(value: &mut Value, target: usize, change: &Change) {
    fn walk(value: &mut Value, target: &mut usize, change: &Change) -> bool {
        if *target == 0 {
            match change {
                Change::Replace(v) => *value = v.clone(),
                Change::SameKind { text, number } => match value {
                    Value::String(s) => *s = text.clone(),
                    Value::Number(_) => *value = number.clone(),
                    Value::Bool(b) => *b = !*b,
                    _ => {}
                },
                Change::Remove => *value = Value::Null,
                Change::Add(k, v) => match value {
                    Value::Object(map) => {
                        map.insert(k.clone(), v.clone());
                    }
                    Value::Array(items) => items.push(v.clone()),
                    other => *other = v.clone(),
                },
            }
            return true;
        }
        *target -= 1;
        match value {
            Value::Array(items) => {
                for i in 0..items.len() {
                    if *target == 0 && matches!(change, Change::Remove) {
                        items.remove(i);
                        return true;
                    }
                    if walk(&mut items[i], target, change) {
                        return true;
                    }
                }
                false
            }
            Value::Object(map) => {
                let keys: Vec<String> = map.keys().cloned().collect();
                for k in keys {
                    if *target == 0 && matches!(change, Change::Remove) {
                        map.remove(&k);
                        return true;
                    }
                    if let Some(child) = map.get_mut(&k)
                        && walk(child, target, change)
                    {
                        return true;
                    }
                }
                false
            }
            _ => false,
        }
    }
    let mut target = target;
    walk(value, &mut target, change);
}

/// A request as a client might send it.
#[derive(Debug, Clone)]
struct Request {
    endpoint: usize,
    body: Vec<u8>,
    content_type: Option<&'static str>,
    idempotency_key: Option<String>,
}

fn request(endpoints: usize, body: impl Strategy<Value = Vec<u8>>) -> impl Strategy<Value = Request> {
    let content_type = prop_oneof![
        8 => Just(Some("application/json")),
        1 => Just(Some("application/json; charset=utf-8")),
        1 => Just(None),
        1 => Just(Some("text/plain")),
    ];
    let key = prop_oneof![4 => Just(None), 1 => "[ -~]{0,300}".prop_map(Some)];
    (0..endpoints, body, content_type, key).prop_map(|(endpoint, body, content_type, idempotency_key)| Request {
        endpoint,
        body,
        content_type,
        idempotency_key,
    })
}

/// Checks a response: never a 5xx; an error is `{ "error": { "type",
/// "code", "message" } }`; a success with a body is JSON.
fn check_response(what: &str, status: u16, body: &[u8]) -> Result<(), TestCaseError> {
    let text = String::from_utf8_lossy(body);
    prop_assert!(status < 500, "{what}: {status} {text}");
    if status >= 400 {
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| TestCaseError::fail(format!("{what}: {status} is not JSON ({e}): {text}")))?;
        let error = &value["error"];
        prop_assert!(error["code"].as_str().is_some_and(|c| !c.is_empty()), "{what}: {status} {text}");
        prop_assert!(error["type"].is_string(), "{what}: {status} {text}");
        prop_assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()), "{what}: {status} {text}");
    } else if !body.is_empty() {
        prop_assert!(serde_json::from_slice::<Value>(body).is_ok(), "{what}: {status} {text}");
    }
    Ok(())
}

async fn send(app: &TestApp, endpoints: &[Endpoint], request: &Request) -> Result<(), TestCaseError> {
    let endpoint = &endpoints[request.endpoint];
    let mut builder = app.http.request(endpoint.method.clone(), app.url(&endpoint.path)).body(request.body.clone());
    if endpoint.admin {
        builder = builder.bearer_auth(&app.admin_key);
    }
    if let Some(content_type) = request.content_type {
        builder = builder.header("content-type", content_type);
    }
    if let Some(key) = &request.idempotency_key {
        builder = builder.header("idempotency-key", key);
    }
    let response = builder.send().await.map_err(|e| TestCaseError::fail(format!("no answer: {e}")))?;
    let status = response.status().as_u16();
    let body = response.bytes().await.map_err(|e| TestCaseError::fail(format!("no body: {e}")))?;
    check_response(&format!("{} {}", endpoint.method, endpoint.path), status, &body)
}

/// Runs `cases` requests drawn from `strategy` against `app`, then checks the
/// server still answers.
pub fn run<S: Strategy>(app: &TestApp, cases: u32, strategy: S, one: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S::Value: std::fmt::Debug,
{
    let config = Config { cases, failure_persistence: None, ..Config::default() };
    let result = tokio::task::block_in_place(|| TestRunner::new(config).run(&strategy, one));
    if let Err(e) = result {
        panic!("{e}");
    }
    let handle = Handle::current();
    let (status, _) = tokio::task::block_in_place(|| handle.block_on(app.get("/healthz")));
    assert_eq!(status, 200, "the server still answers");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arbitrary_json_bodies_never_get_a_5xx() {
    let app = spawn_app().await;
    let endpoints = endpoints(&app).await;
    let handle = Handle::current();
    let strategy = request(endpoints.len(), json_value().prop_map(|v| v.to_string().into_bytes()));
    run(&app, 256, strategy, |r| handle.block_on(send(&app, &endpoints, &r)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arbitrary_bytes_and_deep_nesting_never_get_a_5xx() {
    let app = spawn_app().await;
    let endpoints = endpoints(&app).await;
    let handle = Handle::current();
    run(&app, 192, request(endpoints.len(), raw_body()), |r| handle.block_on(send(&app, &endpoints, &r)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn valid_bodies_with_one_part_changed_never_get_a_5xx() {
    let app = spawn_app().await;
    let endpoints = endpoints(&app).await;
    let handle = Handle::current();
    let templates: Vec<Value> = endpoints.iter().map(|e| e.template.clone()).collect();
    let changes = proptest::collection::vec((any::<Index>(), change()), 1..3);
    let strategy = (request(endpoints.len(), Just(Vec::new())), changes).prop_map(move |(mut r, changes)| {
        let mut body = templates[r.endpoint].clone();
        for (at, change) in &changes {
            let target = at.index(nodes(&body));
            apply(&mut body, target, change);
        }
        r.body = body.to_string().into_bytes();
        // Mostly well-labelled, as a real client's would be.
        r.content_type = r.content_type.or(Some("application/json"));
        r
    });
    run(&app, 256, strategy, |r| handle.block_on(send(&app, &endpoints, &r)));
}

/// Events as each gateway sends them, about the app's orders, for signed
/// webhooks to change.
fn events(style: GatewayStyle, order: &str, id: &str) -> Vec<Value> {
    match style {
        GatewayStyle::Stripe => vec![
            json!({ "id": id, "object": "event", "type": "payment_intent.succeeded", "data": { "object": {
                "id": "pi_fuzz", "object": "payment_intent", "status": "succeeded",
                "metadata": { "paylet_reference": order }, "next_action": null, "last_payment_error": null } } }),
            json!({ "id": id, "object": "event", "type": "payment_intent.payment_failed", "data": { "object": {
                "id": "pi_fuzz", "status": "requires_payment_method", "metadata": { "paylet_reference": order },
                "last_payment_error": { "type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds" } } } }),
            json!({ "id": id, "object": "event", "type": "checkout.session.completed", "data": { "object": {
                "id": "cs_fuzz", "status": "complete", "payment_status": "paid", "payment_intent": "pi_fuzz",
                "client_reference_id": order, "metadata": { "paylet_reference": order } } } }),
            json!({ "id": id, "object": "event", "type": "charge.refunded", "data": { "object": {
                "payment_intent": "pi_fuzz", "refunds": { "data": [
                    { "id": "re_fuzz", "amount": 100, "currency": "usd", "status": "succeeded" } ] } } } }),
        ],
        GatewayStyle::Square => vec![
            json!({ "merchant_id": "M1", "type": "payment.updated", "event_id": id, "data": { "type": "payment", "id": "p1",
                "object": { "payment": { "id": "p_fuzz", "status": "COMPLETED", "reference_id": order, "order_id": null } } } }),
            json!({ "merchant_id": "M1", "type": "payment.updated", "event_id": id, "data": { "object": { "payment": {
                "id": "p_fuzz", "status": "FAILED", "reference_id": order,
                "card_details": { "errors": [{ "category": "PAYMENT_METHOD_ERROR", "code": "CARD_DECLINED", "detail": "x" }] } } } } }),
            json!({ "merchant_id": "M1", "type": "refund.updated", "event_id": id, "data": { "object": { "refund": {
                "id": "r_fuzz", "status": "COMPLETED", "payment_id": "p_fuzz", "amount_money": { "amount": 100, "currency": "USD" } } } } }),
        ],
    }
}

/// Signed webhooks whose events are arbitrary JSON, or real events with a
/// part changed: the signature is good, so the event parser and the order
/// updates behind it see them. Never a 5xx; each is stored and acknowledged
/// (200) or refused as malformed (400).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_webhooks_with_arbitrary_events_never_get_a_5xx() {
    for style in [GatewayStyle::Stripe, GatewayStyle::Square] {
        let app = spawn_app_with(style, |_| {}).await;
        let order = app.order().await;
        let order_id = order["id"].as_str().unwrap().to_owned();
        let store = stores::find(&app.db, &app.store).await.unwrap();
        let (secret, url) = (store.webhook.secret.clone().unwrap(), store.webhook.url.clone().unwrap());
        let handle = Handle::current();
        let count = AtomicUsize::new(0);
        let templates = events(style, &order_id, "evt_template").len();
        let body = prop_oneof![
            1 => json_value(),
            3 => (0..templates, "[a-z0-9]{6}", proptest::collection::vec((any::<Index>(), change()), 0..3)).prop_map(
                move |(which, id, changes)| {
                    let mut event = events(style, &order_id, &format!("evt_{id}")).swap_remove(which);
                    for (at, change) in &changes {
                        let target = at.index(nodes(&event));
                        apply(&mut event, target, change);
                    }
                    event
                }
            ),
        ];
        run(&app, 128, body, |event| {
            count.fetch_add(1, Ordering::Relaxed);
            let body = event.to_string().into_bytes();
            let (name, value) = match style {
                GatewayStyle::Stripe => (
                    "stripe-signature",
                    paylet_webhook::stripe::header(&[&secret], now_millis() / 1000, &body).unwrap(),
                ),
                GatewayStyle::Square => {
                    ("x-square-hmacsha256-signature", paylet_webhook::square::sign(&secret, &url, &body).unwrap())
                }
            };
            handle.block_on(async {
                let response = app.http.post(&url).header(name, value).body(body).send().await.unwrap();
                let status = response.status().as_u16();
                let answer = response.bytes().await.unwrap();
                check_response(&format!("{style:?} webhook {event}"), status, &answer)?;
                prop_assert!(status == 200 || status == 400 || status == 422, "{style:?}: {status} for {event}");
                Ok(())
            })
        });
        assert!(count.load(Ordering::Relaxed) >= 128);
    }
}

/// Found by the property tests on Postgres, whose text cannot hold NUL: JSON
/// carries it as `\u0000`, in a report or in a signed webhook's event id.
#[tokio::test]
async fn a_nul_character_in_text_is_refused_or_kept_never_a_5xx() {
    let app = spawn_app().await;
    let report = json!({ "csp-report": { "document-uri": "https://shop.example/\u{0}", "blocked-uri": "inline" } });
    let (status, body) = app.csp_report(&app.http, &format!("/v1/csp-reports/{}", app.store), &report).await;
    match status {
        204 => {}
        400 => {
            crate::helpers::error(&body, "invalid_text");
        }
        other => panic!("{other}: {body}"),
    }
    let (status, _) = app.get("/healthz").await;
    assert_eq!(status, 200);
}

/// A signed event whose id is longer than any gateway's could not be a key on
/// Postgres (index entries are at most about 2.7 KB): refused on both.
#[tokio::test]
async fn a_signed_event_with_an_overlong_id_is_refused_not_a_5xx() {
    let app = spawn_app().await;
    let order = app.order().await;
    let store = stores::find(&app.db, &app.store).await.unwrap();
    let (secret, url) = (store.webhook.secret.clone().unwrap(), store.webhook.url.clone().unwrap());
    // Random letters: a repeated one would compress under the limit.
    let mut x = 0x2545_f491_4f6c_dd1d_u64;
    let id: String = (0..5000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b'a' + u8::try_from(x % 26).unwrap())
        })
        .collect();
    let event = events(GatewayStyle::Stripe, order["id"].as_str().unwrap(), &id).swap_remove(0);
    let body = event.to_string().into_bytes();
    let signature = paylet_webhook::stripe::header(&[&secret], now_millis() / 1000, &body).unwrap();
    let response = app.http.post(&url).header("stripe-signature", signature).body(body).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 400);
    crate::helpers::error(&response.json().await.unwrap(), "malformed_event");
    assert_eq!(app.order_status(&order).await, "pending", "nothing applied");
}
