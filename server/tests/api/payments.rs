//! Inline card payments, for each gateway style: the widget's token charged,
//! declines explained, 3-D Secure finished, and never a second charge.

use std::time::Duration;

use paylet_api::GatewayStyle;
use serde_json::{Value, json};

use crate::helpers::{SHOP_ORIGIN, STYLES, error, history, spawn_app, spawn_app_with};

/// The sandbox's decline cards and the code the shopper's widget gets.
const DECLINES: [(&str, &str); 7] = [
    ("4000000000000002", "card_declined"),
    ("4000000000009995", "insufficient_funds"),
    ("4000000000009987", "card_declined"), // lost: told as a plain decline
    ("4000000000009979", "card_declined"), // stolen: likewise
    ("4000000000000069", "expired_card"),
    ("4000000000000127", "incorrect_cvc"),
    ("4000000000000119", "processing_error"),
];

#[tokio::test]
async fn a_good_card_pays_the_order() {
    for style in STYLES {
        let app = spawn_app_with(style, |_| {}).await;
        let order = app.order().await;
        let token = app.tokenize("4242424242424242").await;

        let (status, result) = app.pay(&order, &token).await;
        assert_eq!(status, 200, "{style:?}: {result}");
        assert_eq!(result["status"], "paid", "{style:?}");
        assert!(result.get("decline").is_none());
        assert_eq!(app.order_status(&order).await, "paid");
        assert_eq!(app.payments_taken(), 1, "{style:?}");
        let detail = app.detail(&order).await;
        assert_eq!(detail["payments"][0]["status"], "succeeded");
        assert!(detail["payments"][0]["gateway_payment_id"].is_string());
    }
}

#[tokio::test]
async fn every_decline_says_why_and_the_shopper_can_then_pay() {
    for style in STYLES {
        let app = spawn_app_with(style, |_| {}).await;
        let order = app.order().await;
        for (number, code) in DECLINES {
            let token = app.tokenize(number).await;
            let (status, result) = app.pay(&order, &token).await;
            assert_eq!(status, 200, "{style:?} {number}: {result}");
            assert_eq!(result["status"], "pending", "{style:?} {number}");
            assert_eq!(result["decline"]["code"], code, "{style:?} {number}: {result}");
            assert!(!result["decline"]["message"].as_str().unwrap().is_empty());
        }
        assert_eq!(
            result_message(&app, &order, "4000000000009995").await,
            "Your card has insufficient funds. Please use a different card."
        );
        let good = app.tokenize("4242424242424242").await;
        let (_, result) = app.pay(&order, &good).await;
        assert_eq!(result["status"], "paid", "{style:?}");
        assert_eq!(app.payments_taken(), 1);
        let detail = app.detail(&order).await;
        assert_eq!(history(&detail, "payment_declined", ""), DECLINES.len() + 1, "{style:?}");
    }
}

/// The message a shopper sees for `number` (a fresh token of it) on `order`.
async fn result_message(app: &crate::helpers::TestApp, order: &serde_json::Value, number: &str) -> String {
    let token = app.tokenize(number).await;
    let (_, result) = app.pay(order, &token).await;
    result["decline"]["message"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_card_tester_gets_ten_declines_then_the_order_fails() {
    let app = spawn_app().await;
    let order = app.order().await;
    for _ in 0..9 {
        let token = app.tokenize("4000000000000002").await;
        let (status, result) = app.pay(&order, &token).await;
        assert_eq!((status, &result["decline"]["code"]), (200, &json!("card_declined")), "{result}");
    }
    assert_eq!(app.order_status(&order).await, "pending", "nine declines still leave a try");
    let token = app.tokenize("4000000000000002").await;
    assert_eq!(app.pay(&order, &token).await.1["status"], "failed");
    assert_eq!(app.order_status(&order).await, "failed");
    let token = app.tokenize("4242424242424242").await;
    let (status, body) = app.pay(&order, &token).await;
    assert_eq!(status, 409, "{body}");
    error(&body, "order_not_payable");
    assert_eq!(app.payments_taken(), 0);
}

#[tokio::test]
async fn three_d_secure_passed_pays_and_failed_lets_the_shopper_retry() {
    for style in STYLES {
        for pass in [true, false] {
            let app = spawn_app_with(style, |_| {}).await;
            let order = app.order().await;
            let token = app.tokenize("4000002500003155").await;

            let (status, result) = app.pay(&order, &token).await;
            assert_eq!(status, 200, "{result}");
            assert_eq!(result["status"], "requires_action", "{style:?}: {result}");
            assert_eq!(app.order_status(&order).await, "requires_action");
            let challenge = result["next_action"]["redirect_url"].as_str().unwrap();

            let back = app.challenge(challenge, pass).await;
            let verification = back.iter().find(|(k, _)| k == "verification_token").map(|(_, v)| v.as_str());
            let (status, result) = app.confirm(&order, verification).await;
            assert_eq!(status, 200, "{style:?} pass={pass}: {result}");
            if pass {
                assert_eq!(result["status"], "paid", "{style:?}: {result}");
                assert_eq!(app.payments_taken(), 1);
            } else {
                assert_eq!(result["status"], "pending", "{style:?}: {result}");
                assert_eq!(result["decline"]["code"], "authentication_failed");
                assert_eq!(app.payments_taken(), 0);
                // The shopper fixes it with another card.
                let good = app.tokenize("4242424242424242").await;
                assert_eq!(app.pay(&order, &good).await.1["status"], "paid", "{style:?}");
            }
            // Confirming again (a reload of the return page) changes nothing.
            let (_, again) = app.confirm(&order, verification).await;
            assert_eq!(again["status"], "paid", "{style:?}: {again}");
            assert_eq!(app.payments_taken(), 1, "{style:?}");
        }
    }
}

#[tokio::test]
async fn paying_a_paid_order_again_never_charges_twice() {
    for style in STYLES {
        let app = spawn_app_with(style, |_| {}).await;
        let order = app.order().await;
        let token = app.tokenize("4242424242424242").await;
        app.pay(&order, &token).await;

        // The same request again (a double click), and a new card on the paid order.
        let (status, again) = app.pay(&order, &token).await;
        assert_eq!(status, 200);
        assert_eq!(again["status"], "paid");
        let other = app.tokenize("5555555555554444").await;
        let (_, again) = app.pay(&order, &other).await;
        assert_eq!(again["status"], "paid");

        assert_eq!(app.charges_at_gateway(), 1, "{style:?}");
        assert_eq!(app.payments_taken(), 1, "{style:?}");
    }
}

#[tokio::test]
async fn a_double_click_sent_at_once_charges_once() {
    for style in STYLES {
        let app = spawn_app_with(style, |_| {}).await;
        let order = app.order().await;
        let token = app.tokenize("4242424242424242").await;
        let (a, b) = tokio::join!(app.pay(&order, &token), app.pay(&order, &token));
        // One pays; the other sees it paid, or is told it is under way and safe to retry.
        let paid = [&a, &b].iter().filter(|(status, result)| *status == 200 && result["status"] == "paid").count();
        assert!(paid >= 1, "{style:?}: {a:?} {b:?}");
        for (status, result) in [&a, &b] {
            let under_way = matches!(result["error"]["code"].as_str(), Some("payment_in_progress" | "gateway_timeout"));
            assert!(*status == 200 && result["status"] == "paid" || under_way, "{style:?}: {status} {result}");
        }
        assert_eq!(app.order_status(&order).await, "paid");
        assert_eq!(app.detail(&order).await["payments"].as_array().unwrap().len(), 1, "{style:?}: one attempt");
        assert_eq!(app.payments_taken(), 1, "{style:?}");
    }
}

#[tokio::test]
async fn a_gateway_that_times_out_on_charge_never_charges_twice() {
    for style in STYLES {
        for retry_with_same_token in [true, false] {
            let app = spawn_app_with(style, |s| s.gateway_timeout = Duration::from_millis(300)).await;
            let order = app.order().await;
            let token = app.tokenize("4242424242424242").await;

            // The charge happens, but its answer comes after the server gave
            // up, and its webhook never comes.
            app.faults(json!({ "charge_latency_ms": 2000, "webhook_drop_first": 1000 })).await;
            let (status, body) = app.pay(&order, &token).await;
            assert_eq!(status, 504, "{style:?}: {body}");
            error(&body, "gateway_timeout");
            assert_eq!(app.order_status(&order).await, "pending");
            assert_eq!(app.payments_taken(), 1, "{style:?}: the gateway did charge");

            // The shopper tries again: the same card, or the card typed anew.
            app.faults(json!({ "webhook_drop_first": 1000 })).await;
            let retry = if retry_with_same_token { token } else { app.tokenize("4242424242424242").await };
            let (status, result) = app.pay(&order, &retry).await;
            assert_eq!(status, 200, "{style:?}: {result}");
            assert_eq!(result["status"], "paid", "{style:?} same={retry_with_same_token}: {result}");
            assert_eq!(app.payments_taken(), 1, "{style:?} same={retry_with_same_token}");
        }
    }
}

#[tokio::test]
async fn a_charge_whose_answer_was_lost_is_settled_by_its_webhook() {
    for style in STYLES {
        let app = spawn_app_with(style, |s| s.gateway_timeout = Duration::from_millis(300)).await;
        let order = app.order().await;
        let token = app.tokenize("4242424242424242").await;
        app.faults(json!({ "charge_latency_ms": 2000 })).await;
        assert_eq!(app.pay(&order, &token).await.0, 504);

        // The shopper went away; the gateway's event says what happened.
        app.eventually(&order, "paid by the webhook", |d| d["status"] == "paid").await;
        assert_eq!(app.payments_taken(), 1, "{style:?}");
    }
}

#[tokio::test]
async fn a_wrong_client_secret_cannot_pay() {
    let app = spawn_app().await;
    let mut order = app.order().await;
    let token = app.tokenize("4242424242424242").await;
    order["client_secret"] = format!("{}_secret_guess", order["id"].as_str().unwrap()).into();

    let (status, body) = app.pay(&order, &token).await;
    assert_eq!(status, 404);
    error(&body, "not_found");
    assert_eq!(app.charges_at_gateway(), 0);
}

#[tokio::test]
async fn a_malformed_token_is_refused_before_the_gateway() {
    let app = spawn_app().await;
    let order = app.order().await;
    let (status, body) = app.pay(&order, "tok with spaces").await;
    assert_eq!(status, 422);
    assert_eq!(error(&body, "invalid_token")["field"], "token");
    assert_eq!(app.charges_at_gateway(), 0);
}

#[tokio::test]
async fn a_malformed_buyer_verification_is_refused_before_the_gateway_whatever_its_shape() {
    let app = spawn_app_with(GatewayStyle::Square, |_| {}).await;
    let order = app.order().await;
    let token = app.tokenize("4242424242424242").await;
    let path = format!("/v1/orders/{}/payments", order["id"].as_str().unwrap());
    let long = "v".repeat(256);
    for bad in ["", "verf: spaced", "verf:\ttab", "verf:\u{0}nul", "verf:é", "verf:\u{202e}", long.as_str()] {
        let body = json!({ "client_secret": order["client_secret"], "token": token, "verification_token": bad });
        let (status, body) = app.post_json(&path, &body).await;
        assert_eq!(status, 422, "{bad:?}: {body}");
        assert_eq!(error(&body, "invalid_token")["field"], "verification_token", "{bad:?}");
    }
    assert_eq!(app.charges_at_gateway(), 0);
    assert_eq!(app.order_status(&order).await, "pending");
}

/// What the Web Payments SDK's `verifyBuyer` gets for `nonce` from the
/// sandbox: the challenge passed, as the shopper passes it.
async fn verify_buyer(app: &crate::helpers::TestApp, nonce: &str) -> String {
    let url = format!("{}/js/square/v1/verifications", app.sandbox_base);
    let body = json!({ "application_id": app.account.application_id, "source_id": nonce });
    let answer: Value = app.http.post(url).json(&body).send().await.unwrap().json().await.unwrap();
    let challenge = answer["challenge_url"].as_str().unwrap_or_else(|| panic!("{answer}"));
    let form = [("action", "complete"), ("sdk", SHOP_ORIGIN)];
    let page = app.http.post(challenge).form(&form).send().await.unwrap().text().await.unwrap();
    let start = page.find("verf:").unwrap_or_else(|| panic!("{page}"));
    page[start..].split('"').next().unwrap().to_owned()
}

#[tokio::test]
async fn with_squares_sdk_a_charge_retried_after_a_gateway_failure_carries_the_buyers_verification_again() {
    let app = spawn_app_with(GatewayStyle::Square, |_| {}).await;
    app.use_gateway_card_fields().await;
    let order = app.order().await;
    let nonce = app.tokenize("4000002500003155").await;
    let verification = verify_buyer(&app, &nonce).await;
    let path = format!("/v1/orders/{}/payments", order["id"].as_str().unwrap());
    let body = json!({ "client_secret": order["client_secret"], "token": nonce, "verification_token": verification });

    // Down for longer than the adapter's own retries: the answer is unknown.
    app.faults(json!({ "charge_fail_next": 20 })).await;
    let (status, answer) = app.post_json(&path, &body).await;
    assert!(status >= 500, "{status}: {answer}");
    app.faults(json!({ "charge_fail_next": 0 })).await;
    // The shopper retries; the same attempt is charged again under its key,
    // with the verification it was first made with.
    let (status, answer) = app.post_json(&path, &body.clone()).await;
    assert_eq!((status, answer["status"].as_str()), (200, Some("paid")), "{answer}");
    assert_eq!(app.payments_taken(), 1);
}

#[tokio::test]
async fn with_stripe_js_a_shopper_who_lost_the_answer_to_a_challenged_payment_gets_the_challenge_again() {
    let app = spawn_app_with(GatewayStyle::Stripe, |_| {}).await;
    app.use_gateway_card_fields().await;
    let order = app.order().await;
    let token = app.tokenize("4000002500003155").await;
    let (status, first) = app.pay(&order, &token).await;
    assert_eq!((status, &first["status"]), (200, &json!("requires_action")), "{first}");
    let secret = first["next_action"]["gateway_client_secret"].as_str().unwrap_or_else(|| panic!("{first}"));

    // The answer never reached the shopper, who pays again with the same
    // card: the same challenge, for the same one charge.
    let (status, again) = app.pay(&order, &token).await;
    assert_eq!((status, &again["status"]), (200, &json!("requires_action")), "{again}");
    assert_eq!(again["next_action"]["gateway_client_secret"].as_str(), Some(secret), "{again}");
    assert_eq!(app.charges_at_gateway(), 1);
}

#[tokio::test]
async fn a_token_the_gateway_does_not_know_is_a_clear_422() {
    for style in STYLES {
        let app = spawn_app_with(style, |_| {}).await;
        let order = app.order().await;
        let (status, body) = app.pay(&order, "tok_doesnotexist").await;
        assert_eq!(status, 422, "{style:?}: {body}");
        error(&body, "payment_rejected");
        assert_eq!(app.order_status(&order).await, "pending");
    }
}

#[tokio::test]
async fn confirm_without_a_challenge_is_a_clear_409() {
    let app = spawn_app().await;
    let order = app.order().await;
    let (status, body) = app.confirm(&order, None).await;
    assert_eq!(status, 409, "{body}");
    error(&body, "nothing_to_confirm");
}

#[tokio::test]
async fn a_gateway_rate_limit_is_retried_under_the_same_key_never_a_decline() {
    for style in STYLES {
        let app = spawn_app_with(style, |_| {}).await;
        let order = app.order().await;
        // Two 429s, then the gateway takes the charge: the adapter waits and
        // asks again under the same idempotency key.
        app.faults(json!({ "charge_rate_limit_next": 2 })).await;
        let (status, result) = app.pay(&order, &app.tokenize("4242424242424242").await).await;
        assert_eq!((status, &result["status"]), (200, &json!("paid")), "{style:?}: {result}");
        assert_eq!(app.payments_taken(), 1, "{style:?}");

        // Limited for longer than the retries wait: "try again", the order
        // still pending and no decline counted; the next try pays.
        let order = app.order().await;
        app.faults(json!({ "charge_rate_limit_next": 3 })).await;
        let (status, body) = app.pay(&order, &app.tokenize("4242424242424242").await).await;
        assert_eq!(status, 502, "{style:?}: {body}");
        error(&body, "gateway_unavailable");
        assert_eq!(app.order_status(&order).await, "pending");
        let (status, result) = app.pay(&order, &app.tokenize("4242424242424242").await).await;
        assert_eq!((status, &result["status"]), (200, &json!("paid")), "{style:?}: {result}");
        assert_eq!(app.payments_taken(), 2, "{style:?}");
    }
}

#[tokio::test]
async fn refreshing_an_order_in_a_loop_asks_the_gateway_at_most_once_per_two_seconds() {
    let app = spawn_app().await;
    let order = app.order().await;
    app.hosted_page(&order).await;
    let asked = || app.sandbox.request_log().iter().filter(|r| r.method == "GET").count();
    let before = asked();
    for _ in 0..30 {
        assert_eq!(app.refreshed_status(&order).await, "pending");
    }
    // At most two: the loop may run across one two-second boundary.
    assert!(asked() - before <= 2, "{} gateway calls for 30 refreshes", asked() - before);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let before = asked();
    app.refreshed_status(&order).await;
    assert_eq!(asked() - before, 1, "after the pause the gateway is asked again");
}

#[tokio::test]
async fn a_store_without_the_hosted_page_opens_none() {
    let app = spawn_app().await;
    // A card-only store on the same server.
    let (store, key) = app.other_store().await;
    let product = json!({ "sku": "TEE", "name": "Tee", "price": { "amount": 2500, "currency": "USD" } });
    assert_eq!(app.admin_as(&key, reqwest::Method::POST, "/v1/admin/products", Some(&product)).await.0, 201);
    let body = json!({ "items": [{ "sku": "TEE", "quantity": 1 }], "customer": { "email": "ada@example.com" } });
    let (status, order) = app.post_json(&format!("/v1/stores/{store}/orders"), &body).await;
    assert_eq!(status, 201, "{order}");
    let body = json!({ "client_secret": order["client_secret"], "return_url": "https://other.example/checkout" });
    let (status, body) =
        app.post_json(&format!("/v1/orders/{}/hosted-session", order["id"].as_str().unwrap()), &body).await;
    assert_eq!(status, 409, "{body}");
    error(&body, "payment_method_not_enabled");
    assert!(app.sandbox.request_log().iter().all(|r| !r.path.contains("checkout")), "the gateway was not asked");
}

/// The shopper, in a tab left open, tries to finish a page the gateway
/// showed earlier: posts its form as a browser would. Whatever it answers.
async fn finish_old_page(app: &crate::helpers::TestApp, url: &str, form: &[(&str, &str)]) {
    let url = reqwest::Url::parse(url).unwrap();
    let mut fields: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    fields.extend(form.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    let mut post = url.clone();
    post.set_query(None);
    app.browser.post(post).form(&fields).send().await.unwrap();
}

#[tokio::test]
async fn a_hosted_page_left_open_cannot_charge_a_shopper_who_paid_by_card() {
    for style in STYLES {
        let app = spawn_app_with(style, |_| {}).await;
        let order = app.order().await;
        let page = app.hosted_page(&order).await;
        // The shopper comes back and pays by card instead.
        let (status, result) = app.pay(&order, &app.tokenize("4242424242424242").await).await;
        assert_eq!((status, &result["status"]), (200, &json!("paid")), "{style:?}: {result}");
        // Then completes the old hosted page, still open in another tab.
        let form =
            [("email", "ada@example.com"), ("number", "4242424242424242"), ("expiry", "12 / 34"), ("cvc", "123")];
        finish_old_page(&app, &page, &form).await;
        assert_eq!(app.payments_taken(), 1, "{style:?}: the old page took money");
        let page_now = app.browser.get(&page).send().await.unwrap().text().await.unwrap();
        assert!(!page_now.contains("<form"), "{style:?}: the old page still offers to pay: {page_now}");
    }
}

/// Back from the hosted page, the widget takes up its order through a cookie
/// the server gave only to the widget itself: a script on the merchant's page
/// that asks for a hosted page of its own order, or names it in the return,
/// gets the shopper's widget no way to it.
#[tokio::test]
async fn only_the_widget_that_opened_a_hosted_page_is_handed_its_order_back() {
    let app = spawn_app().await;
    let hosted_page = |order: &Value, site: &'static str| {
        let id = order["id"].as_str().unwrap();
        let body = json!({ "client_secret": order["client_secret"], "return_url": format!("{SHOP_ORIGIN}/checkout") });
        app.http
            .post(app.url(&format!("/v1/orders/{id}/hosted-session")))
            .header("sec-fetch-site", site)
            .json(&body)
            .send()
    };
    let resume = |order: &Value, cookie: Option<String>| {
        let request = app.http.post(app.url(&format!("/v1/orders/{}/resume", order["id"].as_str().unwrap())));
        match cookie {
            Some(cookie) => request.header("cookie", cookie),
            None => request,
        }
        .send()
    };

    // The widget's own request: a partitioned, HttpOnly cookie for this order's resume only.
    let shoppers = app.order().await;
    let answer = hosted_page(&shoppers, "same-origin").await.unwrap();
    assert_eq!(answer.status(), 200);
    let set = answer.headers()["set-cookie"].to_str().unwrap().to_owned();
    let id = shoppers["id"].as_str().unwrap();
    let cookie = set.split(';').next().unwrap().to_owned();
    assert!(cookie.starts_with(&format!("__Host-paylet_return_{id}=")), "{set}");
    for attribute in ["Path=/", "Secure", "HttpOnly", "SameSite=None", "Partitioned"] {
        assert!(set.split("; ").any(|a| a == attribute), "{attribute} missing: {set}");
    }
    let back = resume(&shoppers, Some(cookie.clone())).await.unwrap();
    assert_eq!(back.status(), 200);
    assert!(back.headers().get("set-cookie").is_none(), "kept while the order is open");
    let back: Value = back.json().await.unwrap();
    assert_eq!((&back["id"], &back["client_secret"]), (&shoppers["id"], &shoppers["client_secret"]));

    // A script on the shop's page asks for its own order's page (cross-site,
    // or a browser that does not say): no cookie.
    let skimmers = app.order().await;
    for site in ["cross-site", "same-site", "none"] {
        let answer = hosted_page(&skimmers, site).await.unwrap();
        assert_eq!(answer.status(), 200, "{site}");
        assert!(answer.headers().get("set-cookie").is_none(), "{site}: a cookie for the skimmer's order");
    }
    // Named in the return, the skimmer's order is not handed back: not
    // without a cookie, and not with the shopper's.
    let planted = format!(
        "__Host-paylet_return_{}={}",
        skimmers["id"].as_str().unwrap(),
        shoppers["client_secret"].as_str().unwrap()
    );
    for cookie in [None, Some(cookie.clone()), Some(planted)] {
        let answer = resume(&skimmers, cookie.clone()).await.unwrap();
        assert_eq!(answer.status(), 404, "{cookie:?}");
    }

    // Once the order is paid, nothing is left to come back to: the cookie goes.
    let (_, paid) = app.pay(&shoppers, &app.tokenize("4242424242424242").await).await;
    assert_eq!(paid["status"], "paid", "{paid}");
    let back = resume(&shoppers, Some(cookie)).await.unwrap();
    let cleared = back.headers()["set-cookie"].to_str().unwrap();
    assert!(cleared.starts_with(&format!("__Host-paylet_return_{id}=;")) && cleared.contains("Max-Age=0"), "{cleared}");
}

#[tokio::test]
async fn a_challenge_left_for_another_card_cannot_charge_once_that_card_paid() {
    // Stripe style: passing the challenge page completes the payment by itself.
    let app = spawn_app().await;
    let order = app.order().await;
    let (_, result) = app.pay(&order, &app.tokenize("4000002500003155").await).await;
    let challenge = result["next_action"]["redirect_url"].as_str().unwrap().to_owned();
    // The shopper gives up on the challenge and pays with another card...
    let (_, result) = app.pay(&order, &app.tokenize("4242424242424242").await).await;
    assert_eq!(result["status"], "paid", "{result}");
    // ...then passes the old challenge, still open in another tab.
    finish_old_page(&app, &challenge, &[("action", "complete")]).await;
    assert_eq!(app.payments_taken(), 1, "the old challenge took money");
    assert_eq!(app.refreshed_status(&order).await, "paid");
}

#[tokio::test]
async fn a_challenge_left_open_cannot_charge_a_shopper_who_paid_on_the_hosted_page() {
    // Stripe style: the challenged PaymentIntent waits at the gateway, where
    // passing the challenge would take the money.
    let app = spawn_app().await;
    let order = app.order().await;
    let (_, result) = app.pay(&order, &app.tokenize("4000002500003155").await).await;
    assert_eq!(result["status"], "requires_action", "{result}");
    let challenge = result["next_action"]["redirect_url"].as_str().unwrap().to_owned();
    // The shopper pays on the hosted page instead.
    let page = app.hosted_page(&order).await;
    app.pay_on_hosted_page(&page, "4242424242424242").await;
    assert_eq!(app.payments_taken(), 1);
    // Then passes the old challenge, still open in another tab.
    finish_old_page(&app, &challenge, &[("action", "complete")]).await;
    assert_eq!(app.payments_taken(), 1, "the old challenge took money");
    assert_eq!(app.refreshed_status(&order).await, "paid");
}

/// A PaymentIntent that asks for authentication only through Stripe.js (no
/// redirect the widget could show) can never be finished: the attempt ends at
/// once as an authentication failure, and reconciliation never charges again.
#[tokio::test]
async fn a_challenge_with_no_page_to_show_ends_the_attempt_once() {
    let app = spawn_app().await;
    let order = app.order().await;
    app.faults(json!({ "action_without_redirect_next": 1 })).await;
    let (status, result) = app.pay(&order, &app.tokenize("4000002500003155").await).await;
    assert_eq!(status, 200, "{result}");
    assert_eq!(result["decline"]["code"], "authentication_failed", "{result}");
    let charges = || {
        let log = app.sandbox.request_log();
        log.iter().filter(|r| r.method == "POST" && r.path == "/v1/payment_intents").count()
    };
    assert_eq!(charges(), 1);

    // Rounds of reconciliation later, nothing was charged again.
    for minutes in [11, 22] {
        paylet::reconcile::run_once(&app.state, paylet::db::now_millis() + minutes * 60_000).await.unwrap();
    }
    assert_eq!(charges(), 1);
    // The shopper pays with another card.
    let (_, result) = app.pay(&order, &app.tokenize("4242424242424242").await).await;
    assert_eq!(result["status"], "paid", "{result}");
    assert_eq!(app.payments_taken(), 1);
}
