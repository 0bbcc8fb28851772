//! Refunds from the admin API, settled by the gateway's refund event.

use serde_json::{Value, json};

use crate::helpers::{STYLES, TestApp, error, spawn_app_with};

async fn paid_order(app: &TestApp) -> Value {
    let order = app.order().await;
    let token = app.tokenize("4242424242424242").await;
    assert_eq!(app.pay(&order, &token).await.1["status"], "paid");
    order
}

async fn refund(app: &TestApp, order: &Value, body: Value) -> (u16, Value) {
    app.admin_post(&format!("/v1/admin/orders/{}/refunds", order["id"].as_str().unwrap()), &body).await
}

#[tokio::test]
async fn a_partial_then_a_full_refund_settle_on_the_gateways_word() {
    for style in STYLES {
        let app = spawn_app_with(style, |_| {}).await;
        let order = paid_order(&app).await;

        let (status, first) =
            refund(&app, &order, json!({ "amount": { "amount": 1000, "currency": "USD" }, "reason": "damaged" })).await;
        assert_eq!(status, 201, "{style:?}: {first}");
        assert_eq!(first["status"], "pending", "{style:?}: only the gateway's event settles it");
        let detail =
            app.eventually(&order, "the partial refund settled", |d| d["status"] == "partially_refunded").await;
        assert_eq!(detail["refunds"][0]["status"], "succeeded");
        assert_eq!(detail["refunds"][0]["amount"]["amount"], 1000);

        // More than what is left is refused, and changes nothing.
        let (status, body) = refund(&app, &order, json!({ "amount": { "amount": 1501, "currency": "USD" } })).await;
        assert_eq!(status, 422, "{style:?}: {body}");
        assert_eq!(error(&body, "amount_too_large")["field"], "amount.amount");

        // No amount: the rest.
        let (status, rest) = refund(&app, &order, json!({})).await;
        assert_eq!(status, 201, "{style:?}: {rest}");
        assert_eq!(rest["amount"]["amount"], 1500);
        let detail = app.eventually(&order, "fully refunded", |d| d["status"] == "refunded").await;
        assert!(detail["refunds"].as_array().unwrap().iter().all(|r| r["status"] == "succeeded"), "{detail}");

        let (status, body) = refund(&app, &order, json!({})).await;
        assert_eq!(status, 409, "{style:?}: {body}");
        error(&body, "order_not_refundable");
    }
}

#[tokio::test]
async fn an_unpaid_order_or_a_foreign_currency_cannot_be_refunded() {
    let app = spawn_app_with(STYLES[0], |_| {}).await;
    let unpaid = app.order().await;
    let (status, body) = refund(&app, &unpaid, json!({})).await;
    assert_eq!(status, 409, "{body}");
    error(&body, "order_not_refundable");

    let order = paid_order(&app).await;
    let (status, body) = refund(&app, &order, json!({ "amount": { "amount": 100, "currency": "EUR" } })).await;
    assert_eq!(status, 422, "{body}");
    error(&body, "currency_mismatch");
    let (status, body) = refund(&app, &order, json!({ "amount": { "amount": 0, "currency": "USD" } })).await;
    assert_eq!(status, 422, "{body}");
}

#[tokio::test]
async fn a_refund_whose_event_arrives_before_its_answer_is_recorded_once() {
    for style in STYLES {
        let app = spawn_app_with(style, |_| {}).await;
        let order = paid_order(&app).await;
        // The refund is made at once; its answer comes 500 ms later, its webhook sooner.
        app.faults(json!({ "charge_latency_ms": 500 })).await;
        let (status, body) = refund(&app, &order, json!({ "amount": { "amount": 700, "currency": "USD" } })).await;
        let answered = paylet::db::now_millis();
        assert_eq!(status, 201, "{style:?}: {body}");
        let event_first = app
            .sandbox
            .deliveries()
            .iter()
            .any(|d| matches!(d.event_type.as_str(), "charge.refunded" | "refund.created") && d.at_ms < answered);
        assert!(event_first, "{style:?}: the refund's event reached the server before the refund's answer");

        let detail = app.eventually(&order, "the refund settled", |d| d["refunds"][0]["status"] == "succeeded").await;
        let refunds = detail["refunds"].as_array().unwrap();
        assert_eq!(refunds.len(), 1, "{style:?}: {detail}");
        assert_eq!(refunds[0]["id"], body["id"]);
        assert!(refunds[0]["gateway_refund_id"].is_string());
        assert_eq!(detail["status"], "partially_refunded");
    }
}

#[tokio::test]
async fn a_refund_retried_after_a_timeout_under_its_key_refunds_once() {
    for style in STYLES {
        let app = spawn_app_with(style, |s| s.gateway_timeout = std::time::Duration::from_millis(300)).await;
        let order = paid_order(&app).await;
        let path = format!("/v1/admin/orders/{}/refunds", order["id"].as_str().unwrap());
        let send = || {
            app.http
                .post(app.url(&path))
                .bearer_auth(&app.admin_key)
                .header("Idempotency-Key", "refund-once")
                .json(&json!({ "amount": { "amount": 700, "currency": "USD" } }))
                .send()
        };
        // The gateway refunds, but answers after the server gave up.
        app.faults(json!({ "charge_latency_ms": 2000 })).await;
        assert_eq!(send().await.unwrap().status(), 504, "{style:?}");
        app.faults(json!({})).await;

        // The merchant's retry under the same key finds the refund it made.
        let retry = send().await.unwrap();
        assert_eq!(retry.status(), 201, "{style:?}");
        let detail = app.eventually(&order, "refund settled", |d| d["status"] == "partially_refunded").await;
        assert_eq!(detail["refunds"].as_array().unwrap().len(), 1, "{style:?}: {detail}");
        assert_eq!(detail["refunds"][0]["amount"]["amount"], 700);
    }
}

/// A merchant's script that numbers its refund keys per order (`refund-1`)
/// must not get one order's refund back as the answer for another's.
#[tokio::test]
async fn the_same_refund_key_on_two_orders_refunds_each() {
    let app = spawn_app_with(STYLES[0], |_| {}).await;
    for order in [paid_order(&app).await, paid_order(&app).await] {
        let response = app
            .http
            .post(app.url(&format!("/v1/admin/orders/{}/refunds", order["id"].as_str().unwrap())))
            .bearer_auth(&app.admin_key)
            .header("Idempotency-Key", "refund-1")
            .json(&json!({ "amount": { "amount": 700, "currency": "USD" } }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        let refund: Value = response.json().await.unwrap();
        assert_eq!(refund["order_id"], order["id"], "{refund}");
        app.eventually(&order, "its own refund settled", |d| d["status"] == "partially_refunded").await;
    }
}

/// A Stripe endpoint made in the dashboard without the `refund.*` events
/// hears of a refund only through `charge.refunded`, which since API version
/// 2022-11-15 lists no refunds: Paylet asks the gateway for them at once,
/// rather than leave the refund pending until reconciliation.
#[tokio::test]
async fn a_charge_refunded_event_without_its_refunds_settles_them_by_asking() {
    let app = spawn_app_with(STYLES[0], |_| {}).await;
    let store = paylet::stores::find(&app.db, &app.store).await.unwrap();
    let endpoint = store.webhook.endpoint_id.clone().unwrap();
    let events = ["payment_intent.succeeded", "payment_intent.payment_failed", "charge.refunded"];
    let form: Vec<(&str, &str)> = events.iter().map(|e| ("enabled_events[]", *e)).collect();
    let updated = app
        .http
        .post(format!("{}/v1/webhook_endpoints/{endpoint}", app.sandbox_base))
        .bearer_auth(app.account.secret_key.expose())
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(updated.status(), 200);

    let order = paid_order(&app).await;
    let (status, body) = refund(&app, &order, json!({ "amount": { "amount": 700, "currency": "USD" } })).await;
    assert_eq!(status, 201, "{body}");
    let detail = app.eventually(&order, "the refund settled", |d| d["status"] == "partially_refunded").await;
    assert_eq!(detail["refunds"][0]["status"], "succeeded");
    let asked = app.sandbox.request_log();
    assert!(asked.iter().any(|r| r.method == "GET" && r.path == "/v1/refunds"), "{asked:#?}");
}

#[tokio::test]
async fn a_refund_whose_events_are_lost_stays_pending_until_reconciliation() {
    for style in STYLES {
        let app = spawn_app_with(style, |_| {}).await;
        let order = paid_order(&app).await;
        app.faults(json!({ "webhook_drop_first": 1000 })).await;
        let (status, body) = refund(&app, &order, json!({})).await;
        assert_eq!(status, 201, "{style:?}: {body}");
        app.webhooks_settled().await;
        let detail = app.detail(&order).await;
        assert_eq!(detail["refunds"][0]["status"], "pending", "{style:?}: no word from the gateway yet");
        assert_eq!(detail["status"], "paid");

        let later = paylet::db::now_millis() + 11 * 60_000;
        paylet::reconcile::run_once(&app.state, later).await.unwrap();
        let detail = app.detail(&order).await;
        assert_eq!(detail["refunds"][0]["status"], "succeeded", "{style:?}: {detail}");
        assert_eq!(detail["status"], "refunded");
    }
}
