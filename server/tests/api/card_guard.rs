//! Card numbers never get in: wherever a request carries one, it is refused
//! with 422 before anything is stored.

use serde_json::json;

use crate::helpers::{error, spawn_app};

#[tokio::test]
async fn a_card_number_in_a_body_is_refused_and_nothing_is_stored() {
    let app = spawn_app().await;
    let orders = || async {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders").fetch_one(app.db.reader()).await.unwrap();
        count
    };
    let before = orders().await;
    // A broken integration that put the card where the name goes.
    let body = json!({
        "items": [{ "sku": "TEE", "quantity": 1 }],
        "customer": { "email": "ada@example.com", "name": "4242 4242 4242 4242" },
    });
    let (status, answer) = app.post_json(&format!("/v1/stores/{}/orders", app.store), &body).await;
    assert_eq!(status, 422, "{answer}");
    let e = error(&answer, "card_data_rejected");
    assert_eq!(e["field"], "body");
    assert!(e["message"].as_str().unwrap().contains("straight to the payment gateway"));
    assert!(!answer.to_string().contains("4242"), "the refusal does not repeat it: {answer}");
    assert_eq!(orders().await, before);

    // The same order with a real name goes through.
    let (status, _) = app.create_order(json!([{ "sku": "TEE", "quantity": 1 }])).await;
    assert_eq!(status, 201);
}

#[tokio::test]
async fn a_card_number_in_a_query_a_header_or_a_form_is_refused() {
    let app = spawn_app().await;
    let (status, answer) = app.get("/v1/orders/ord_x?client_secret=4000-0566-5566-5556").await;
    assert_eq!(status, 422);
    assert_eq!(error(&answer, "card_data_rejected")["field"], "query");

    let response = app
        .http
        .get(app.url(&format!("/v1/stores/{}/checkout-config", app.store)))
        .header("x-note", "card 5555555555554444")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let answer: serde_json::Value = response.json().await.unwrap();
    assert_eq!(error(&answer, "card_data_rejected")["field"], "x-note");

    // Form-encoded, as a Stripe-style tokenization would be if sent here by mistake.
    let response = app
        .http
        .post(app.url(&format!("/v1/webhooks/{}/stripe", app.store)))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("card%5Bnumber%5D=3782+822463+10005&card%5Bcvc%5D=1234")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
}

#[tokio::test]
async fn realistic_details_that_are_not_card_numbers_pass() {
    let app = spawn_app().await;
    let body = json!({
        "items": [{ "sku": "TEE", "quantity": 1 }],
        "customer": {
            "email": "ada.lovelace+1815@example.com",
            "name": "Ada (phone +1 415 555 2671, ref ORD-2026-000123)",
            "billing_address": {
                "line1": "4242 Main St, Apt 16", "city": "Springfield", "postal_code": "94103-1234", "country": "US"
            },
        },
    });
    let (status, answer) = app.post_json(&format!("/v1/stores/{}/orders", app.store), &body).await;
    assert_eq!(status, 201, "{answer}");
}

#[tokio::test]
async fn oversized_headers_and_deeply_nested_json_get_clear_errors() {
    let app = spawn_app().await;
    let response = app
        .http
        .get(app.url(&format!("/v1/stores/{}/checkout-config", app.store)))
        .header("x-padding", "a".repeat(17 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 431);
    let answer: serde_json::Value = response.json().await.unwrap();
    error(&answer, "headers_too_large");

    let mut body = json!({ "sku": "TEE", "quantity": 1 });
    for _ in 0..40 {
        body = json!([body]);
    }
    let (status, answer) =
        app.post_json(&format!("/v1/stores/{}/orders", app.store), &json!({ "items": body, "customer": {} })).await;
    assert_eq!(status, 400, "{answer}");
    error(&answer, "json_too_deep");
}
