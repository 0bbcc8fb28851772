//! Webhook delivery: signatures checked by an implementation written here from
//! the gateways' documentation (not the crate the sandbox signs with), retries,
//! and every injected fault.

use std::time::Duration;

use base64::Engine;
use hmac::{Hmac, Mac};
use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::helpers::{Gateway, Received, receiver, start, types};

/// Stripe's documented check: HMAC-SHA256, keyed with the endpoint secret, of
/// `"{t}.{body}"`, hex; any `v1` may match.
fn stripe_valid(header: &str, secret: &str, body: &[u8]) -> bool {
    let t = header.split(',').find_map(|p| p.strip_prefix("t=")).unwrap_or_default();
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(t.as_bytes());
    mac.update(b".");
    mac.update(body);
    let expected = hex::encode(mac.finalize().into_bytes());
    header.split(',').filter_map(|p| p.strip_prefix("v1=")).any(|v| v == expected)
}

/// Square's documented check: base64 HMAC-SHA256, keyed with the signature key,
/// of the notification URL followed by the body.
fn square_valid(header: &str, key: &str, url: &str, body: &[u8]) -> bool {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(url.as_bytes());
    mac.update(body);
    header == base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

async fn stripe_endpoint(gw: &Gateway, url: &str, events: &[&str]) -> (String, String) {
    let mut form = vec![("url", url)];
    form.extend(events.iter().map(|e| ("enabled_events[]", *e)));
    let (_, endpoint, _) = gw.post("/v1/webhook_endpoints", &form).await;
    (endpoint["id"].as_str().unwrap().to_owned(), endpoint["secret"].as_str().unwrap().to_owned())
}

async fn square_subscription(gw: &Gateway, url: &str) -> String {
    let body = json!({ "subscription": { "event_types": ["payment.created", "payment.updated", "refund.created", "refund.updated"], "notification_url": url } });
    let (_, s, _) = gw.post_json("/v2/webhooks/subscriptions", &body).await;
    s["subscription"]["signature_key"].as_str().unwrap().to_owned()
}

/// Every received request verifies; changing any one byte of its body, or of
/// its signature header, makes it fail.
fn check_signatures(received: &[Received], valid: impl Fn(&str, &[u8]) -> bool, header: &str) {
    for r in received {
        let h = r.headers[header].to_str().unwrap();
        assert!(valid(h, &r.body), "delivery does not verify: {h}");
    }
    let cases = (0..received.len(), any::<prop::sample::Index>(), 1u8.., any::<bool>());
    TestRunner::default()
        .run(&cases, |(i, pos, flip, in_header)| {
            let r = &received[i];
            let h = r.headers[header].to_str().unwrap().to_owned();
            if in_header {
                let mut bytes = h.into_bytes();
                let at = pos.index(bytes.len());
                bytes[at] ^= flip;
                let changed = String::from_utf8_lossy(&bytes).into_owned();
                prop_assert!(!valid(&changed, &r.body));
            } else {
                let mut body = r.body.to_vec();
                let at = pos.index(body.len());
                body[at] ^= flip;
                prop_assert!(!valid(&h, &body));
            }
            Ok(())
        })
        .unwrap();
}

#[tokio::test]
async fn stripe_style_webhooks_verify_independently_and_any_change_breaks_them() {
    let gw = start().await;
    let hook = receiver(vec![]).await;
    let (_, secret) = stripe_endpoint(&gw, &hook.url, &["*"]).await;
    // Payloads with varied text, including non-ASCII, through metadata.
    for (i, note) in
        ["plain", "ünïcödé ✓", "quotes \" and \\ slashes", "<tag> & ampersand", "日本語"].iter().enumerate()
    {
        let token = gw.stripe_token("4242424242424242").await;
        let form = [
            ("amount", "100"),
            ("currency", "usd"),
            ("confirm", "true"),
            ("payment_method_data[type]", "card"),
            ("payment_method_data[card][token]", token.as_str()),
            ("metadata[note]", note),
        ];
        let (status, _, _) = gw.post("/v1/payment_intents", &form).await;
        assert_eq!(status, 200, "{i}");
    }
    let received = hook.wait_for(5).await;
    for r in &received {
        let event: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(event["object"], "event");
        assert_eq!(event["type"], "payment_intent.succeeded");
        assert!(event["id"].as_str().unwrap().starts_with("evt_"));
        assert_eq!(event["data"]["object"]["object"], "payment_intent");
        assert!(r.headers["stripe-signature"].to_str().unwrap().starts_with("t="));
    }
    check_signatures(&received, |h, body| stripe_valid(h, &secret, body), "stripe-signature");
}

#[tokio::test]
async fn square_style_webhooks_verify_independently_and_any_change_breaks_them() {
    let gw = start().await;
    let hook = receiver(vec![]).await;
    let key = square_subscription(&gw, &hook.url).await;
    for i in 0..3 {
        let nonce = gw.square_nonce("4242424242424242").await;
        let (status, _, _) = gw.square_pay(&nonce, &format!("k{i}")).await;
        assert_eq!(status, 200);
    }
    // Each payment: payment.created, then payment.updated once it completes.
    let received = hook.wait_for(6).await;
    for r in &received {
        let event: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(event["merchant_id"], gw.account.merchant_id.as_str());
        assert_eq!(event["data"]["type"], "payment");
        assert_eq!(event["data"]["id"], event["data"]["object"]["payment"]["id"]);
        assert!(r.headers.contains_key("square-initial-delivery-timestamp"));
    }
    assert_eq!(types(&received).iter().filter(|t| *t == "payment.updated").count(), 3);
    check_signatures(&received, |h, body| square_valid(h, &key, &hook.url, body), "x-square-hmacsha256-signature");
}

#[tokio::test]
async fn failed_deliveries_are_retried_until_a_2xx() {
    let gw = start().await;
    let hook = receiver(vec![500, 503]).await;
    stripe_endpoint(&gw, &hook.url, &["payment_intent.succeeded"]).await;
    gw.charge("4242424242424242", &[]).await;
    let received = hook.wait_for(3).await;
    let ids: Vec<Value> =
        received.iter().map(|r| serde_json::from_slice::<Value>(&r.body).unwrap()["id"].clone()).collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "every retry carries the same event id");
    let attempts = gw.wait_for_attempts(|a| a.len() == 3).await;
    let outcomes: Vec<&str> = attempts.iter().map(|a| a["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["failed", "failed", "delivered"]);
    assert_eq!(attempts[0]["status"], 500);
    assert_eq!(attempts[2]["attempt"], 3);
}

#[tokio::test]
async fn delivery_is_abandoned_after_the_last_retry() {
    let gw = start().await;
    let hook = receiver(vec![500; 20]).await;
    stripe_endpoint(&gw, &hook.url, &["*"]).await;
    gw.charge("4242424242424242", &[]).await;
    // Five retries after the first attempt (the test schedule), then no more.
    let attempts = gw.wait_for_attempts(|a| a.iter().any(|x| x["outcome"] == "abandoned")).await;
    assert_eq!(attempts.iter().filter(|a| a["outcome"] == "failed").count(), 6);
    assert_eq!(hook.got().len(), 6);
}

#[tokio::test]
async fn duplicate_fault_delivers_each_event_again() {
    let gw = start().await;
    gw.set_faults(json!({ "webhook_duplicates": 2 })).await;
    let hook = receiver(vec![]).await;
    stripe_endpoint(&gw, &hook.url, &["*"]).await;
    gw.charge("4242424242424242", &[]).await;
    let received = hook.wait_for(3).await;
    let bodies: Vec<Value> = received.iter().map(|r| serde_json::from_slice(&r.body).unwrap()).collect();
    assert!(bodies.iter().all(|b| b["id"] == bodies[0]["id"]));
    let attempts = gw.wait_for_attempts(|a| a.len() == 3).await;
    assert_eq!(attempts.iter().filter(|a| a["duplicate"] == true).count(), 2);
}

#[tokio::test]
async fn drop_fault_loses_the_first_attempts_then_retries() {
    let gw = start().await;
    gw.set_faults(json!({ "webhook_drop_first": 2 })).await;
    let hook = receiver(vec![]).await;
    stripe_endpoint(&gw, &hook.url, &["*"]).await;
    gw.charge("4242424242424242", &[]).await;
    let attempts = gw.wait_for_attempts(|a| a.iter().any(|x| x["outcome"] == "delivered")).await;
    let outcomes: Vec<&str> = attempts.iter().map(|a| a["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["dropped", "dropped", "delivered"]);
    assert_eq!(hook.got().len(), 1);
}

#[tokio::test]
async fn delay_fault_holds_the_first_attempt() {
    let gw = start().await;
    gw.set_faults(json!({ "webhook_delay_ms": 300 })).await;
    let hook = receiver(vec![]).await;
    stripe_endpoint(&gw, &hook.url, &["*"]).await;
    let before = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis();
    gw.charge("4242424242424242", &[]).await;
    let attempts = gw.wait_for_attempts(|a| !a.is_empty()).await;
    let at = u128::from(attempts[0]["at_ms"].as_u64().unwrap());
    assert!(at >= before + 300, "sent {}ms after the charge started", at - before);
}

#[tokio::test]
async fn reorder_fault_lets_a_newer_event_arrive_first() {
    let gw = start().await;
    gw.set_faults(json!({ "webhook_reorder": true, "webhook_delay_ms": 1000 })).await;
    let hook = receiver(vec![]).await;
    stripe_endpoint(&gw, &hook.url, &["*"]).await;
    gw.charge("4242424242424242", &[]).await;
    gw.charge("4000000000000002", &[]).await;
    let received = hook.wait_for(2).await;
    assert_eq!(types(&received), ["payment_intent.payment_failed", "payment_intent.succeeded"]);
}

#[tokio::test]
async fn a_rolled_secret_signs_alongside_the_old_one() {
    let gw = start().await;
    let hook = receiver(vec![]).await;
    let (id, old) = stripe_endpoint(&gw, &hook.url, &["*"]).await;
    let rolled: Value = gw
        .http
        .post(gw.url(&format!("/_sandbox/webhook_endpoints/{id}/roll")))
        .json(&json!({ "expires_in": 3600 }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let new = rolled["secret"].as_str().unwrap();
    assert_ne!(new, old);
    gw.charge("4242424242424242", &[]).await;
    let r = &hook.wait_for(1).await[0];
    let header = r.headers["stripe-signature"].to_str().unwrap();
    assert_eq!(header.matches("v1=").count(), 2);
    assert!(stripe_valid(header, &old, &r.body));
    assert!(stripe_valid(header, new, &r.body));
}

#[tokio::test]
async fn endpoints_get_only_the_events_they_asked_for() {
    let gw = start().await;
    let hook = receiver(vec![]).await;
    stripe_endpoint(&gw, &hook.url, &["charge.refunded"]).await;
    let (_, pi, _) = gw.charge("4242424242424242", &[]).await;
    gw.post("/v1/refunds", &[("payment_intent", pi["id"].as_str().unwrap())]).await;
    let received = hook.wait_for(1).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(types(&hook.got()), ["charge.refunded"]);
    let charge: Value = serde_json::from_slice(&received[0].body).unwrap();
    assert_eq!(charge["data"]["object"]["refunded"], true);
}

#[tokio::test]
async fn square_refunds_raise_created_then_updated() {
    let gw = start().await;
    let hook = receiver(vec![]).await;
    square_subscription(&gw, &hook.url).await;
    let nonce = gw.square_nonce("4242424242424242").await;
    let (_, p, _) = gw.square_pay(&nonce, "p").await;
    let refund = json!({ "idempotency_key": "r", "payment_id": p["payment"]["id"], "amount_money": { "amount": 2500, "currency": "USD" } });
    gw.post_json("/v2/refunds", &refund).await;
    let received = hook.wait_for(5).await;
    assert_eq!(
        types(&received),
        ["payment.created", "payment.updated", "refund.created", "refund.updated", "payment.updated"]
    );
    let last: Value = serde_json::from_slice(&received[4].body).unwrap();
    assert_eq!(last["data"]["object"]["payment"]["refunded_money"]["amount"], 2500);
}

/// An endpoint gets events in the API version it was created with: a refund
/// reaches one on a version before 2022-11-15 as a `charge.refunded` listing
/// the charge's refunds, and one on a current version as a `refund.created`
/// and a `charge.refunded` without them, as Stripe renders them.
#[tokio::test]
async fn each_endpoint_gets_refunds_in_its_own_api_version() {
    let gw = start().await;
    let (old, current) = (receiver(vec![]).await, receiver(vec![]).await);
    for (hook, version) in [(&old, "2022-08-01"), (&current, "2026-11-18.endive")] {
        let form = [
            ("url", hook.url.as_str()),
            ("enabled_events[]", "charge.refunded"),
            ("enabled_events[]", "refund.created"),
            ("api_version", version),
        ];
        let (status, endpoint, _) = gw.post("/v1/webhook_endpoints", &form).await;
        assert_eq!((status, endpoint["api_version"].as_str()), (200, Some(version)), "{endpoint}");
    }
    let (_, pi, _) = gw.charge("4242424242424242", &[]).await;
    gw.post("/v1/refunds", &[("payment_intent", pi["id"].as_str().unwrap()), ("amount", "700")]).await;

    for (hook, version, lists_refunds) in [(&old, "2022-08-01", true), (&current, "2026-11-18.endive", false)] {
        let events: Vec<Value> =
            hook.wait_for(2).await.iter().map(|r| serde_json::from_slice(&r.body).unwrap()).collect();
        assert!(events.iter().all(|e| e["api_version"] == version), "{events:#?}");
        let charge = &events.iter().find(|e| e["type"] == "charge.refunded").unwrap()["data"]["object"];
        assert_eq!(charge["amount_refunded"], 700);
        match lists_refunds {
            true => assert_eq!(charge["refunds"]["data"][0]["amount"], 700, "{charge}"),
            false => assert!(charge.get("refunds").is_none(), "{charge}"),
        }
        let refund = &events.iter().find(|e| e["type"] == "refund.created").unwrap()["data"]["object"];
        assert_eq!((refund["amount"].as_i64(), refund["payment_intent"].as_str()), (Some(700), pi["id"].as_str()));
    }
}
