//! The Square-style API.

use serde_json::{Value, json};

use crate::helpers::{serve, start};

#[tokio::test]
async fn card_nonces_are_issued_to_browsers_with_the_application_id() {
    let gw = start().await;
    let preflight = gw
        .http
        .request(reqwest::Method::OPTIONS, gw.url("/v2/card-nonces"))
        .header("Origin", "https://shop.example")
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "content-type")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.headers()["access-control-allow-origin"], "*");

    let nonce = gw.square_nonce("4242424242424242").await;
    assert!(nonce.starts_with("cnon:"));

    let bad = json!({ "application_id": gw.account.application_id, "card": { "number": "4242424242424241", "exp_month": 12, "exp_year": 2034 } });
    let r = gw.http.post(gw.url("/v2/card-nonces")).json(&bad).send().await.unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], "INVALID_CARD");
    assert_eq!(body["errors"][0]["field"], "card.number");

    let unknown = json!({ "application_id": "sandbox-sq0idb-nope", "card": { "number": "4242424242424242", "exp_month": 12, "exp_year": 2034 } });
    let r = gw.http.post(gw.url("/v2/card-nonces")).json(&unknown).send().await.unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn a_good_card_makes_a_completed_payment() {
    let gw = start().await;
    let nonce = gw.square_nonce("4242424242424242").await;
    let (status, body, _) = gw.square_pay(&nonce, "k1").await;
    assert_eq!(status, 200, "{body}");
    let p = &body["payment"];
    assert_eq!(p["status"], "COMPLETED");
    assert_eq!(p["source_type"], "CARD");
    assert_eq!(p["amount_money"], json!({ "amount": 2500, "currency": "USD" }));
    assert_eq!(p["card_details"]["status"], "CAPTURED");
    assert_eq!(p["card_details"]["card"]["card_brand"], "VISA");
    assert_eq!(p["card_details"]["card"]["last_4"], "4242");
    assert_eq!(p["reference_id"], "ord_1");
    assert_eq!(p["location_id"], gw.account.location_id.as_str());
    assert!(!body.to_string().contains("4242424242424242"));

    let (_, fetched, _) = gw.get_square(&format!("/v2/payments/{}", p["id"].as_str().unwrap())).await;
    assert_eq!(fetched["payment"]["id"], p["id"]);

    // A nonce is single use.
    let (status, body, _) = gw.square_pay(&nonce, "k2").await;
    assert_eq!(status, 400);
    assert_eq!(body["errors"][0]["code"], "CARD_TOKEN_USED");
}

#[tokio::test]
async fn declines_carry_squares_codes_and_the_failed_payment() {
    let gw = start().await;
    let cases = [
        ("4000000000000002", "GENERIC_DECLINE"),
        ("4000000000009995", "INSUFFICIENT_FUNDS"),
        ("4000000000009987", "CARD_DECLINED_CALL_ISSUER"),
        ("4000000000009979", "CARD_DECLINED_CALL_ISSUER"),
        ("4000000000000069", "CARD_EXPIRED"),
        ("4000000000000127", "CVV_FAILURE"),
        ("4000000000000119", "TEMPORARY_ERROR"),
    ];
    for (i, (number, code)) in cases.into_iter().enumerate() {
        let nonce = gw.square_nonce(number).await;
        let (status, body, _) = gw.square_pay(&nonce, &format!("d{i}")).await;
        assert_eq!(status, 400, "{number}");
        assert_eq!(body["errors"][0]["category"], "PAYMENT_METHOD_ERROR");
        assert_eq!(body["errors"][0]["code"], code, "{number}");
        assert_eq!(body["errors"][0]["detail"], format!("Authorization error: '{code}'"));
        assert_eq!(body["payment"]["status"], "FAILED");
        assert_eq!(body["payment"]["card_details"]["status"], "FAILED");
    }
}

#[tokio::test]
async fn squares_sandbox_nonces_and_values_work() {
    let gw = start().await;
    let (status, _, _) = gw.square_pay("cnon:card-nonce-ok", "m1").await;
    assert_eq!(status, 200);
    let (_, body, _) = gw.square_pay("cnon:card-nonce-declined", "m2").await;
    assert_eq!(body["errors"][0]["code"], "GENERIC_DECLINE");
    let (_, body, _) = gw.square_pay("cnon:card-nonce-rejected-postalcode", "m3").await;
    assert_eq!(body["errors"][0]["code"], "ADDRESS_VERIFICATION_FAILURE");
    let (_, body, _) = gw.square_pay("cnon:card-nonce-already-used", "m4").await;
    assert_eq!(body["errors"][0]["code"], "CARD_TOKEN_USED");
    let cvv = json!({ "application_id": gw.account.application_id, "card": { "number": "4111111111111111", "exp_month": 12, "exp_year": 2034, "cvv": "911" } });
    let nonce: Value = gw.http.post(gw.url("/v2/card-nonces")).json(&cvv).send().await.unwrap().json().await.unwrap();
    let (_, body, _) = gw.square_pay(nonce["card_nonce"].as_str().unwrap(), "m5").await;
    assert_eq!(body["errors"][0]["code"], "CVV_FAILURE");
}

#[tokio::test]
async fn access_tokens_are_checked() {
    let gw = start().await;
    let r = gw.http.get(gw.url("/v2/payments/x")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["errors"][0]["category"], "AUTHENTICATION_ERROR");
    assert!(body["errors"][0]["detail"].as_str().unwrap().contains("malformed"));
    let r = gw.http.get(gw.url("/v2/payments/x")).bearer_auth("EAAAnope").send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.json::<Value>().await.unwrap()["errors"][0]["detail"], "This request could not be authorized.");
    let (status, body, _) = gw.get_square("/v2/payments/nope").await;
    assert_eq!(status, 404);
    assert_eq!(body["errors"][0]["code"], "NOT_FOUND");
}

#[tokio::test]
async fn idempotency_keys_replay_and_refuse_other_requests() {
    let gw = start().await;
    let nonce = gw.square_nonce("4242424242424242").await;
    let (_, first, _) = gw.square_pay(&nonce, "same").await;
    let (status, again, headers) = gw.square_pay(&nonce, "same").await;
    assert_eq!(status, 200);
    assert_eq!(first, again);
    assert_eq!(headers["idempotent-replayed"], "true");
    let other = gw.square_nonce("4242424242424242").await;
    let (status, body, _) = gw.square_pay(&other, "same").await;
    assert_eq!(status, 400);
    assert_eq!(body["errors"][0]["code"], "IDEMPOTENCY_KEY_REUSED");
    let (status, body, _) = gw.square_pay(&other, &"k".repeat(46)).await;
    assert_eq!(status, 400);
    assert_eq!(body["errors"][0]["code"], "VALUE_TOO_LONG");
}

#[tokio::test]
async fn a_delayed_payment_can_be_completed_or_canceled() {
    let gw = start().await;
    let mut ids = Vec::new();
    for key in ["a1", "a2"] {
        let nonce = gw.square_nonce("4242424242424242").await;
        let body = json!({ "source_id": nonce, "idempotency_key": key, "amount_money": { "amount": 100, "currency": "USD" }, "autocomplete": false });
        let (_, p, _) = gw.post_json("/v2/payments", &body).await;
        assert_eq!(p["payment"]["status"], "APPROVED");
        assert_eq!(p["payment"]["card_details"]["status"], "AUTHORIZED");
        ids.push(p["payment"]["id"].as_str().unwrap().to_owned());
    }
    let (_, done, _) = gw.post_json(&format!("/v2/payments/{}/complete", ids[0]), &json!({})).await;
    assert_eq!(done["payment"]["status"], "COMPLETED");
    let (_, gone, _) = gw.post_json(&format!("/v2/payments/{}/cancel", ids[1]), &json!({})).await;
    assert_eq!(gone["payment"]["status"], "CANCELED");
    let (status, body, _) = gw.post_json(&format!("/v2/payments/{}/complete", ids[1]), &json!({})).await;
    assert_eq!(status, 400);
    assert_eq!(body["errors"][0]["code"], "DELAYED_TRANSACTION_CANCELED");
}

#[tokio::test]
async fn refunds_start_pending_complete_shortly_and_never_exceed_the_payment() {
    let gw = start().await;
    let nonce = gw.square_nonce("4242424242424242").await;
    let (_, p, _) = gw.square_pay(&nonce, "p").await;
    let payment_id = p["payment"]["id"].as_str().unwrap();
    let refund = |amount: i64, key: &str| json!({ "idempotency_key": key, "payment_id": payment_id, "amount_money": { "amount": amount, "currency": "USD" } });
    let (status, r, _) = gw.post_json("/v2/refunds", &refund(1000, "r1")).await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["refund"]["status"], "PENDING");
    assert!(r["refund"]["id"].as_str().unwrap().starts_with(payment_id));
    let (status, body, _) = gw.post_json("/v2/refunds", &refund(1501, "r2")).await;
    assert_eq!(status, 400);
    assert_eq!(body["errors"][0]["category"], "REFUND_ERROR");
    assert_eq!(body["errors"][0]["code"], "REFUND_AMOUNT_INVALID");

    let id = r["refund"]["id"].as_str().unwrap();
    let mut status = String::new();
    for _ in 0..200 {
        let (_, r, _) = gw.get_square(&format!("/v2/refunds/{id}")).await;
        status = r["refund"]["status"].as_str().unwrap().to_owned();
        if status == "COMPLETED" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(status, "COMPLETED");
    let (_, p, _) = gw.get_square(&format!("/v2/payments/{payment_id}")).await;
    assert_eq!(p["payment"]["refunded_money"]["amount"], 1000);
}

#[tokio::test]
async fn a_payment_link_is_paid_on_the_hosted_page() {
    let gw = start().await;
    let body = json!({
        "idempotency_key": "link-1",
        "order": {
            "location_id": gw.account.location_id,
            "reference_id": "ord_7",
            "line_items": [{ "name": "Tee", "quantity": "2", "base_price_money": { "amount": 1500, "currency": "USD" } }]
        },
        "checkout_options": { "redirect_url": "https://shop.example/thanks" }
    });
    let (status, created, _) = gw.post_json("/v2/online-checkout/payment-links", &body).await;
    assert_eq!(status, 200, "{created}");
    let link = &created["payment_link"];
    let order = &created["related_resources"]["orders"][0];
    assert_eq!(order["state"], "DRAFT");
    assert_eq!(order["total_money"]["amount"], 3000);
    assert_eq!(link["order_id"], order["id"]);
    let url = link["url"].as_str().unwrap();
    let page = gw.http.get(url).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Tee") && page.contains("30.00 USD"));

    let paid = gw
        .http
        .post(url)
        .form(&[("number", "4242424242424242"), ("expiry", "12/34"), ("cvc", "123")])
        .send()
        .await
        .unwrap();
    assert_eq!(paid.status(), 303);
    assert_eq!(paid.headers()["location"], "https://shop.example/thanks");
    let (_, order, _) = gw.get_square(&format!("/v2/orders/{}", link["order_id"].as_str().unwrap())).await;
    assert_eq!(order["order"]["state"], "OPEN");
    let again = gw.http.get(url).send().await.unwrap().text().await.unwrap();
    assert!(again.contains("already been paid"));
    let (_, fetched, _) =
        gw.get_square(&format!("/v2/online-checkout/payment-links/{}", link["id"].as_str().unwrap())).await;
    assert_eq!(fetched["payment_link"]["url"], link["url"]);
}

#[tokio::test]
async fn a_card_needing_verification_pays_after_the_challenge() {
    let gw = start().await;
    let nonce = gw.square_nonce("4000000000003220").await;
    let (status, body, _) = gw.square_pay(&nonce, "v1").await;
    assert_eq!(status, 400);
    assert_eq!(body["errors"][0]["code"], "CARD_DECLINED_VERIFICATION_REQUIRED");

    let verify = gw.url(&format!("/hosted/square/verify/{nonce}?return_url=https://shop.example/back"));
    let page = gw.http.get(&verify).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Complete verification"));
    let done = gw
        .http
        .post(gw.url(&format!("/hosted/square/verify/{nonce}")))
        .form(&[("action", "complete"), ("return_url", "https://shop.example/back")])
        .send()
        .await
        .unwrap();
    let location = done.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with("https://shop.example/back?verification_token=verf"));
    let token = location.split("verification_token=").nth(1).unwrap().split('&').next().unwrap().replace("%3A", ":");

    let body = json!({ "source_id": nonce, "idempotency_key": "v2", "verification_token": token, "amount_money": { "amount": 2500, "currency": "USD" } });
    let (status, p, _) = gw.post_json("/v2/payments", &body).await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(p["payment"]["status"], "COMPLETED");
}

#[tokio::test]
async fn webhook_subscriptions_show_their_key_once() {
    let gw = start().await;
    let body = json!({ "idempotency_key": "s1", "subscription": { "name": "paylet", "event_types": ["payment.updated"], "notification_url": "https://shop.example/hook" } });
    let (status, s, _) = gw.post_json("/v2/webhooks/subscriptions", &body).await;
    assert_eq!(status, 200, "{s}");
    assert!(s["subscription"]["signature_key"].as_str().is_some());
    let id = s["subscription"]["id"].as_str().unwrap();
    let (status, listed, _) = gw.get_square("/v2/webhooks/subscriptions").await;
    assert_eq!((status, &listed["subscriptions"][0]["id"]), (200, &json!(id)), "{listed}");
    assert!(listed["subscriptions"][0].get("signature_key").is_none(), "the key is shown only once");
    let (status, rotated, _) = gw
        .post_json(&format!("/v2/webhooks/subscriptions/{id}/signature-key"), &json!({ "idempotency_key": "rot" }))
        .await;
    assert_eq!(status, 200, "{rotated}");
    let new_key = rotated["signature_key"].as_str().expect("a new signature key");
    assert_ne!(new_key, s["subscription"]["signature_key"].as_str().unwrap());
    let bad = json!({ "subscription": { "event_types": ["order.updated"], "notification_url": "https://shop.example/hook" } });
    let (status, body, _) = gw.post_json("/v2/webhooks/subscriptions", &bad).await;
    assert_eq!(status, 400);
    assert_eq!(body["errors"][0]["field"], "subscription.event_types[0]");
}

#[tokio::test]
async fn malformed_requests_get_squares_error_shapes() {
    let gw = start().await;
    let cases = [
        (
            json!({ "idempotency_key": "x", "amount_money": { "amount": 1, "currency": "USD" } }),
            "MISSING_REQUIRED_PARAMETER",
            "source_id",
        ),
        (
            json!({ "source_id": "cnon:x", "idempotency_key": "x", "amount_money": { "amount": "1", "currency": "USD" } }),
            "EXPECTED_INTEGER",
            "amount_money.amount",
        ),
        (
            json!({ "source_id": "cnon:x", "idempotency_key": "x", "amount_money": { "amount": 1, "currency": "USD" }, "colour": "red" }),
            "BAD_REQUEST",
            "colour",
        ),
        (
            json!({ "source_id": 5, "idempotency_key": "x", "amount_money": { "amount": 1, "currency": "USD" } }),
            "EXPECTED_STRING",
            "source_id",
        ),
        (
            json!({ "source_id": "cnon:x", "idempotency_key": "x", "amount_money": { "amount": 0, "currency": "USD" } }),
            "VALUE_TOO_LOW",
            "amount_money.amount",
        ),
    ];
    for (body, code, field) in cases {
        let (status, response, _) = gw.post_json("/v2/payments", &body).await;
        assert_eq!(status, 400, "{code}: {response}");
        assert_eq!(response["errors"][0]["category"], "INVALID_REQUEST_ERROR");
        assert_eq!(response["errors"][0]["code"], code);
        assert_eq!(response["errors"][0]["field"], field);
    }
    let r = gw
        .http
        .post(gw.url("/v2/payments"))
        .bearer_auth(gw.token())
        .body("{")
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = gw.http.post(gw.url("/v2/payments")).bearer_auth(gw.token()).body("source_id=x").send().await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["errors"][0]["code"], "INVALID_CONTENT_TYPE");
    let big = json!({ "note": "x".repeat(300 * 1024) });
    let (status, body, _) = gw.post_json("/v2/payments", &big).await;
    assert_eq!(status, 413);
    assert_eq!(body["errors"][0]["category"], "INVALID_REQUEST_ERROR");
    let r = gw.http.get(gw.url("/v2/nothing")).bearer_auth(gw.token()).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.json::<Value>().await.unwrap()["errors"][0]["code"], "NOT_FOUND");
}

#[tokio::test]
async fn another_accounts_payment_is_not_found_as_if_it_did_not_exist() {
    let gw = start().await;
    let nonce = gw.square_nonce("5555555555554444").await;
    let (_, paid, _) = gw.square_pay(&nonce, "square-own").await;
    let path = format!("/v2/payments/{}", paid["payment"]["id"].as_str().unwrap());
    let other = serve(gw.sandbox.clone(), gw.sandbox.create_account()).await;
    let (status, body, _) = other.get_square(&path).await;
    assert_eq!((status, &body["errors"][0]["code"]), (404, &json!("NOT_FOUND")), "{body}");
    assert_eq!(gw.get_square(&path).await.0, 200);
}
