//! The Stripe-style API.

use serde_json::Value;

use crate::helpers::{serve, start};

#[tokio::test]
async fn tokens_accept_cross_origin_preflight_from_any_page() {
    let gw = start().await;
    let response = gw
        .http
        .request(reqwest::Method::OPTIONS, gw.url("/v1/tokens"))
        .header("Origin", "https://any-merchant.example")
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "authorization, content-type")
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
}

#[tokio::test]
async fn a_token_shows_the_card_but_never_its_number() {
    let gw = start().await;
    let form = [
        ("card[number]", "4242424242424242"),
        ("card[exp_month]", "12"),
        ("card[exp_year]", "2034"),
        ("card[cvc]", "123"),
    ];
    let response =
        gw.http.post(gw.url("/v1/tokens")).bearer_auth(&gw.account.publishable_key).form(&form).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let token: Value = response.json().await.unwrap();
    assert!(token["id"].as_str().unwrap().starts_with("tok_"));
    assert_eq!(token["object"], "token");
    assert_eq!(token["card"]["brand"], "Visa");
    assert_eq!(token["card"]["last4"], "4242");
    assert_eq!(token["used"], false);
    assert!(!token.to_string().contains("4242424242424242"));
}

#[tokio::test]
async fn payment_methods_are_created_from_the_browser_key() {
    let gw = start().await;
    let form = [
        ("key", gw.account.publishable_key.as_str()),
        ("type", "card"),
        ("card[number]", "5555555555554444"),
        ("card[exp_month]", "12"),
        ("card[exp_year]", "2034"),
    ];
    let pm: Value = gw.http.post(gw.url("/v1/payment_methods")).form(&form).send().await.unwrap().json().await.unwrap();
    assert_eq!(pm["object"], "payment_method");
    assert_eq!(pm["card"]["brand"], "mastercard");
    let id = pm["id"].as_str().unwrap();
    let (status, pi, _) = gw
        .post(
            "/v1/payment_intents",
            &[("amount", "100"), ("currency", "eur"), ("payment_method", id), ("confirm", "true")],
        )
        .await;
    assert_eq!(status, 200, "{pi}");
    assert_eq!(pi["status"], "succeeded");
}

#[tokio::test]
async fn bad_card_details_get_stripe_card_errors() {
    let gw = start().await;
    let pk = gw.account.publishable_key.clone();
    let cases = [
        ("4242424242424241", "12", "2034", "123", "incorrect_number", "number"),
        ("4242", "12", "2034", "123", "invalid_number", "number"),
        ("4242424242424242", "13", "2034", "123", "invalid_expiry_month", "exp_month"),
        ("4242424242424242", "12", "2001", "123", "invalid_expiry_year", "exp_year"),
        ("4242424242424242", "12", "2034", "12x", "invalid_cvc", "cvc"),
    ];
    for (number, month, year, cvc, code, param) in cases {
        let form = [
            ("key", pk.as_str()),
            ("card[number]", number),
            ("card[exp_month]", month),
            ("card[exp_year]", year),
            ("card[cvc]", cvc),
        ];
        let response = gw.http.post(gw.url("/v1/tokens")).form(&form).send().await.unwrap();
        assert_eq!(response.status(), 402, "{code}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["type"], "card_error");
        assert_eq!(body["error"]["code"], code);
        assert_eq!(body["error"]["param"], param);
    }
}

#[tokio::test]
async fn keys_are_checked_like_stripe_checks_them() {
    let gw = start().await;
    let response = gw.http.post(gw.url("/v1/payment_intents")).form(&[("amount", "100")]).send().await.unwrap();
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().starts_with("You did not provide an API key."));

    let response =
        gw.http.post(gw.url("/v1/payment_intents")).bearer_auth("sk_test_wrongwrongwrong1234").send().await.unwrap();
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["message"], "Invalid API Key provided: sk_test_***************1234");

    // HTTP basic with the key as user name works like Bearer.
    let response = gw.http.get(gw.url("/v1/events")).basic_auth(gw.sk(), Some("")).send().await.unwrap();
    assert_eq!(response.status(), 200);

    // The publishable key cannot charge; the secret key cannot send raw card data.
    let response =
        gw.http.post(gw.url("/v1/payment_intents")).bearer_auth(&gw.account.publishable_key).send().await.unwrap();
    assert_eq!(response.status(), 401);
    let card = [("card[number]", "4242424242424242"), ("card[exp_month]", "12"), ("card[exp_year]", "2034")];
    let (status, _, _) = gw.post("/v1/tokens", &card).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn accounts_cannot_use_each_others_objects() {
    let a = start().await;
    let token = a.stripe_token("4242424242424242").await;
    let b = crate::helpers::Gateway {
        base: a.base.clone(),
        sandbox: a.sandbox.clone(),
        account: a.sandbox.create_account(),
        http: a.http.clone(),
    };
    let form = [
        ("amount", "100"),
        ("currency", "usd"),
        ("confirm", "true"),
        ("payment_method_data[type]", "card"),
        ("payment_method_data[card][token]", token.as_str()),
    ];
    let (status, body, _) = b.post("/v1/payment_intents", &form).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"]["code"], "resource_missing");
    let (_, pi, _) = a.post("/v1/payment_intents", &form).await;
    let (status, _, _) = b.get(&format!("/v1/payment_intents/{}", pi["id"].as_str().unwrap())).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_good_card_succeeds_and_a_token_works_once() {
    let gw = start().await;
    let token = gw.stripe_token("4242424242424242").await;
    let form = [
        ("amount", "2500"),
        ("currency", "usd"),
        ("confirm", "true"),
        ("payment_method_data[type]", "card"),
        ("payment_method_data[card][token]", token.as_str()),
        ("metadata[order]", "ord_1"),
    ];
    let (status, intent, _) = gw.post("/v1/payment_intents", &form).await;
    assert_eq!(status, 200, "{intent}");
    assert_eq!(intent["object"], "payment_intent");
    assert_eq!(intent["status"], "succeeded");
    assert_eq!(intent["amount_received"], 2500);
    assert_eq!(intent["metadata"]["order"], "ord_1");
    assert!(intent["client_secret"].as_str().unwrap().starts_with(intent["id"].as_str().unwrap()));
    let charge = intent["latest_charge"].as_str().unwrap();
    let (_, charge, _) = gw.get(&format!("/v1/charges/{charge}")).await;
    assert_eq!(charge["amount"], 2500);
    assert_eq!(charge["refunded"], false);

    let (status, body, _) = gw.post("/v1/payment_intents", &form).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "token_already_used");

    let (_, fetched, _) = gw.get(&format!("/v1/payment_intents/{}", intent["id"].as_str().unwrap())).await;
    assert_eq!(fetched["status"], "succeeded");
}

#[tokio::test]
async fn every_test_card_has_stripes_outcome() {
    let gw = start().await;
    let declines = [
        ("4000000000000002", "card_declined", Some("generic_decline")),
        ("4000000000009995", "card_declined", Some("insufficient_funds")),
        ("4000000000009987", "card_declined", Some("lost_card")),
        ("4000000000009979", "card_declined", Some("stolen_card")),
        ("4000000000000069", "expired_card", None),
        ("4000000000000127", "incorrect_cvc", None),
        ("4000000000000119", "processing_error", None),
    ];
    for (number, code, decline_code) in declines {
        let (status, body, _) = gw.charge(number, &[]).await;
        assert_eq!(status, 402, "{number}");
        let e = &body["error"];
        assert_eq!(e["type"], "card_error");
        assert_eq!(e["code"], code, "{number}");
        assert_eq!(e.get("decline_code").and_then(Value::as_str), decline_code, "{number}");
        assert_eq!(e["payment_intent"]["status"], "requires_payment_method");
        assert_eq!(e["payment_intent"]["last_payment_error"]["code"], code);
    }
    for number in ["4242424242424242", "5555555555554444", "378282246310005", "6011111111111117"] {
        let (status, pi, _) = gw.charge(number, &[]).await;
        assert_eq!((status, pi["status"].as_str()), (200, Some("succeeded")), "{number}");
    }
    for number in ["4000002500003155", "4000002760003184", "4000000000003220"] {
        let (_, pi, _) = gw.charge(number, &[("return_url", "https://shop.example/back")]).await;
        assert_eq!(pi["status"], "requires_action", "{number}");
    }
}

#[tokio::test]
async fn three_d_secure_redirects_to_a_challenge_and_back() {
    let gw = start().await;
    let (_, pi, _) = gw.charge("4000000000003220", &[("return_url", "https://shop.example/back?x=1")]).await;
    assert_eq!(pi["next_action"]["type"], "redirect_to_url");
    assert_eq!(pi["next_action"]["redirect_to_url"]["return_url"], "https://shop.example/back?x=1");
    let url = pi["next_action"]["redirect_to_url"]["url"].as_str().unwrap().to_owned();
    assert!(url.starts_with(&gw.base));

    let page = gw.http.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Complete authentication") && page.contains("25.00 USD"));
    let done = gw.http.post(&url).form(&[("action", "complete")]).send().await.unwrap();
    assert_eq!(done.status(), 303);
    let location = done.headers()["location"].to_str().unwrap();
    let id = pi["id"].as_str().unwrap();
    assert!(
        location
            .starts_with(&format!("https://shop.example/back?x=1&payment_intent={id}&payment_intent_client_secret="))
    );
    assert!(location.ends_with("&redirect_status=succeeded"));
    let (_, after, _) = gw.get(&format!("/v1/payment_intents/{id}")).await;
    assert_eq!(after["status"], "succeeded");

    // A failed challenge leaves the intent wanting another card.
    let (_, pi, _) = gw.charge("4000002760003184", &[("return_url", "https://shop.example/back")]).await;
    let url = pi["next_action"]["redirect_to_url"]["url"].as_str().unwrap();
    let done = gw.http.post(url).form(&[("action", "fail")]).send().await.unwrap();
    assert!(done.headers()["location"].to_str().unwrap().ends_with("redirect_status=failed"));
    let (_, after, _) = gw.get(&format!("/v1/payment_intents/{}", pi["id"].as_str().unwrap())).await;
    assert_eq!(after["status"], "requires_payment_method");
    assert_eq!(after["last_payment_error"]["code"], "payment_intent_authentication_failure");

    // Without a return URL, the intent asks for Stripe.js, as Stripe does.
    let (_, pi, _) = gw.charge("4000000000003220", &[]).await;
    assert_eq!(pi["next_action"]["type"], "use_stripe_sdk");
}

#[tokio::test]
async fn intents_can_be_confirmed_later_and_canceled() {
    let gw = start().await;
    let (status, pi, _) = gw.post("/v1/payment_intents", &[("amount", "700"), ("currency", "usd")]).await;
    assert_eq!(status, 200);
    assert_eq!(pi["status"], "requires_payment_method");
    let id = pi["id"].as_str().unwrap().to_owned();
    let (status, body, _) = gw.post(&format!("/v1/payment_intents/{id}/confirm"), &[]).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "payment_intent_unexpected_state");

    let token = gw.stripe_token("4242424242424242").await;
    let (status, pi, _) = gw
        .post(
            &format!("/v1/payment_intents/{id}/confirm"),
            &[("payment_method_data[type]", "card"), ("payment_method_data[card][token]", &token)],
        )
        .await;
    assert_eq!((status, pi["status"].as_str()), (200, Some("succeeded")), "{pi}");
    let (status, body, _) = gw.post(&format!("/v1/payment_intents/{id}/cancel"), &[]).await;
    assert_eq!(status, 400);
    assert!(body["error"]["message"].as_str().unwrap().contains("status of succeeded"));

    let (_, pi, _) = gw.post("/v1/payment_intents", &[("amount", "700"), ("currency", "usd")]).await;
    let id = pi["id"].as_str().unwrap();
    let (status, pi, _) =
        gw.post(&format!("/v1/payment_intents/{id}/cancel"), &[("cancellation_reason", "abandoned")]).await;
    assert_eq!(status, 200);
    assert_eq!(pi["status"], "canceled");
    assert_eq!(pi["cancellation_reason"], "abandoned");
}

#[tokio::test]
async fn refunds_are_full_or_partial_but_never_more_than_charged() {
    let gw = start().await;
    let (_, pi, _) = gw.charge("4242424242424242", &[]).await;
    let id = pi["id"].as_str().unwrap();
    let (status, refund, _) = gw.post("/v1/refunds", &[("payment_intent", id), ("amount", "1000")]).await;
    assert_eq!(status, 200, "{refund}");
    assert_eq!(refund["object"], "refund");
    assert_eq!(refund["status"], "succeeded");
    assert_eq!(refund["amount"], 1000);

    let (status, body, _) = gw.post("/v1/refunds", &[("payment_intent", id), ("amount", "2000")]).await;
    assert_eq!(status, 400);
    assert_eq!(
        body["error"]["message"],
        "Refund amount (20.00 USD) is greater than unrefunded amount on charge (15.00 USD)"
    );
    assert_eq!(body["error"]["param"], "amount");

    let (_, rest, _) = gw.post("/v1/refunds", &[("payment_intent", id)]).await;
    assert_eq!(rest["amount"], 1500);
    let (status, body, _) = gw.post("/v1/refunds", &[("payment_intent", id)]).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "charge_already_refunded");

    // Since API version 2022-11-15 a charge lists its refunds only when asked.
    let charge_path = format!("/v1/charges/{}", pi["latest_charge"].as_str().unwrap());
    let (_, charge, _) = gw.get(&charge_path).await;
    assert_eq!(charge["amount_refunded"], 2500);
    assert_eq!(charge["refunded"], true);
    assert!(charge.get("refunds").is_none(), "{charge}");
    let (_, charge, _) = gw.get(&format!("{charge_path}?expand[]=refunds")).await;
    assert_eq!(charge["refunds"]["total_count"], 2);
    // A request in an older version gets the older shape.
    let old = gw
        .http
        .get(format!("{}{charge_path}", gw.base))
        .bearer_auth(gw.account.secret_key.expose())
        .header("Stripe-Version", "2020-08-27")
        .send()
        .await
        .unwrap();
    let charge: Value = old.json().await.unwrap();
    assert_eq!(charge["refunds"]["total_count"], 2, "{charge}");
    let (_, fetched, _) = gw.get(&format!("/v1/refunds/{}", rest["id"].as_str().unwrap())).await;
    assert_eq!(fetched["amount"], 1500);
}

#[tokio::test]
async fn a_hosted_checkout_takes_the_card_and_returns_to_the_merchant() {
    let gw = start().await;
    let form = [
        ("mode", "payment"),
        ("line_items[0][price_data][currency]", "usd"),
        ("line_items[0][price_data][unit_amount]", "1200"),
        ("line_items[0][price_data][product_data][name]", "Mug"),
        ("line_items[0][quantity]", "2"),
        ("success_url", "https://shop.example/ok?session={CHECKOUT_SESSION_ID}"),
        ("cancel_url", "https://shop.example/cart"),
        ("client_reference_id", "ord_42"),
        ("payment_intent_data[metadata][order]", "ord_42"),
    ];
    let (status, session, _) = gw.post("/v1/checkout/sessions", &form).await;
    assert_eq!(status, 200, "{session}");
    assert_eq!(session["object"], "checkout.session");
    assert_eq!(session["amount_total"], 2400);
    assert_eq!(session["status"], "open");
    assert_eq!(session["payment_status"], "unpaid");
    let url = session["url"].as_str().unwrap().to_owned();
    let id = session["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("cs_test_"));

    let page = gw.http.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Mug") && page.contains("24.00 USD") && page.contains("https://shop.example/cart"));

    let declined = gw
        .http
        .post(&url)
        .form(&[("number", "4000 0000 0000 0002"), ("expiry", "12 / 34"), ("cvc", "123")])
        .send()
        .await
        .unwrap();
    assert_eq!(declined.status(), 200);
    assert!(declined.text().await.unwrap().contains("Your card was declined."));

    let paid = gw
        .http
        .post(&url)
        .form(&[("email", "ada@example.com"), ("number", "4242 4242 4242 4242"), ("expiry", "12 / 34"), ("cvc", "123")])
        .send()
        .await
        .unwrap();
    assert_eq!(paid.status(), 303);
    assert_eq!(paid.headers()["location"], format!("https://shop.example/ok?session={id}").as_str());

    let (_, session, _) = gw.get(&format!("/v1/checkout/sessions/{id}")).await;
    assert_eq!(session["status"], "complete");
    assert_eq!(session["payment_status"], "paid");
    assert_eq!(session["client_reference_id"], "ord_42");
    assert_eq!(session["customer_email"], "ada@example.com");
    let (_, pi, _) = gw.get(&format!("/v1/payment_intents/{}", session["payment_intent"].as_str().unwrap())).await;
    assert_eq!(pi["status"], "succeeded");
    assert_eq!(pi["metadata"]["order"], "ord_42");
    assert_eq!(pi["amount"], 2400);
    let (_, events, _) = gw.get("/v1/events?type=checkout.session.completed").await;
    assert_eq!(events["data"][0]["data"]["object"]["id"], id.as_str());

    // A completed session cannot expire; an open one can.
    let (status, _, _) = gw.post(&format!("/v1/checkout/sessions/{id}/expire"), &[]).await;
    assert_eq!(status, 400);
    let (_, open, _) = gw
        .post(
            "/v1/checkout/sessions",
            &[("mode", "payment"), ("amount", "100"), ("currency", "usd"), ("success_url", "https://shop.example/ok")],
        )
        .await;
    let (status, expired, _) =
        gw.post(&format!("/v1/checkout/sessions/{}/expire", open["id"].as_str().unwrap()), &[]).await;
    assert_eq!((status, expired["status"].as_str(), expired["url"].is_null()), (200, Some("expired"), true));
}

#[tokio::test]
async fn a_hosted_checkout_runs_3ds_before_returning() {
    let gw = start().await;
    let (_, session, _) = gw
        .post(
            "/v1/checkout/sessions",
            &[("mode", "payment"), ("amount", "999"), ("currency", "eur"), ("success_url", "https://shop.example/ok")],
        )
        .await;
    let url = session["url"].as_str().unwrap();
    let r = gw
        .http
        .post(url)
        .form(&[("number", "4000002760003184"), ("expiry", "1234"), ("cvc", "123")])
        .send()
        .await
        .unwrap();
    let challenge = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(challenge.contains("/hosted/3ds/pi_"));
    let back = gw.http.post(&challenge).form(&[("action", "complete")]).send().await.unwrap();
    let back = back.headers()["location"].to_str().unwrap().to_owned();
    assert!(back.contains("/hosted/checkout/"));
    let done = gw.http.get(&back).send().await.unwrap();
    assert_eq!(done.headers()["location"], "https://shop.example/ok");
}

#[tokio::test]
async fn webhook_endpoints_show_their_secret_once() {
    let gw = start().await;
    let (status, endpoint, _) = gw
        .post(
            "/v1/webhook_endpoints",
            &[
                ("url", "https://shop.example/hook"),
                ("enabled_events[]", "payment_intent.succeeded"),
                ("enabled_events[]", "charge.refunded"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{endpoint}");
    assert!(endpoint["secret"].as_str().unwrap().starts_with("whsec_"));
    assert_eq!(endpoint["enabled_events"].as_array().unwrap().len(), 2);
    let id = endpoint["id"].as_str().unwrap();
    let (status, fetched, _) = gw.get(&format!("/v1/webhook_endpoints/{id}")).await;
    assert_eq!((status, &fetched["id"]), (200, &serde_json::json!(id)), "{fetched}");
    assert!(fetched.get("secret").is_none(), "the secret is shown only once");
    let (_, list, _) = gw.get("/v1/webhook_endpoints").await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    let (_, updated, _) = gw.post(&format!("/v1/webhook_endpoints/{id}"), &[("disabled", "true")]).await;
    assert_eq!(updated["status"], "disabled");
    let response =
        gw.http.delete(gw.url(&format!("/v1/webhook_endpoints/{id}"))).bearer_auth(gw.sk()).send().await.unwrap();
    let deleted: Value = response.json().await.unwrap();
    assert_eq!(deleted["deleted"], true);
    let (status, _, _) = gw.post("/v1/webhook_endpoints", &[("url", "ftp://x"), ("enabled_events[]", "*")]).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn events_are_listed_newest_first() {
    let gw = start().await;
    gw.charge("4242424242424242", &[]).await;
    gw.charge("4000000000000002", &[]).await;
    let (_, list, _) = gw.get("/v1/events").await;
    let types: Vec<&str> = list["data"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["payment_intent.payment_failed", "payment_intent.succeeded"]);
    let (_, only, _) = gw.get("/v1/events?type=payment_intent.succeeded").await;
    let event = &only["data"][0];
    assert_eq!(event["object"], "event");
    assert_eq!(event["data"]["object"]["object"], "payment_intent");
    let (_, fetched, _) = gw.get(&format!("/v1/events/{}", event["id"].as_str().unwrap())).await;
    assert_eq!(fetched["id"], event["id"]);
}

#[tokio::test]
async fn idempotency_keys_replay_refuse_and_block_concurrent_use() {
    let gw = start().await;
    let form = [("amount", "500"), ("currency", "usd")];
    let (s1, first, _) = gw.post_with_key("/v1/payment_intents", "key-1", &form).await;
    let (s2, again, headers) = gw.post_with_key("/v1/payment_intents", "key-1", &form).await;
    assert_eq!((s1, s2), (200, 200));
    assert_eq!(first["id"], again["id"]);
    assert_eq!(headers["idempotent-replayed"], "true");

    let (status, body, _) =
        gw.post_with_key("/v1/payment_intents", "key-1", &[("amount", "501"), ("currency", "usd")]).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["type"], "idempotency_error");

    // A decline is replayed too; a parameter error frees the key.
    let token = gw.stripe_token("4000000000000002").await;
    let decline = [
        ("amount", "500"),
        ("currency", "usd"),
        ("confirm", "true"),
        ("payment_method_data[type]", "card"),
        ("payment_method_data[card][token]", token.as_str()),
    ];
    let (s1, d1, _) = gw.post_with_key("/v1/payment_intents", "key-2", &decline).await;
    let (s2, d2, _) = gw.post_with_key("/v1/payment_intents", "key-2", &decline).await;
    assert_eq!((s1, s2), (402, 402));
    assert_eq!(d1, d2);
    let (status, _, _) = gw.post_with_key("/v1/payment_intents", "key-3", &[("amount", "x")]).await;
    assert_eq!(status, 400);
    let (status, _, _) = gw.post_with_key("/v1/payment_intents", "key-3", &form).await;
    assert_eq!(status, 200);

    // While the first request runs, a second with the same key gets a 409.
    gw.set_faults(serde_json::json!({ "charge_latency_ms": 400 })).await;
    let token = gw.stripe_token("4242424242424242").await;
    let slow = [
        ("amount", "500"),
        ("currency", "usd"),
        ("confirm", "true"),
        ("payment_method_data[type]", "card"),
        ("payment_method_data[card][token]", token.as_str()),
    ];
    let (a, b) = tokio::join!(gw.post_with_key("/v1/payment_intents", "key-4", &slow), async {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        gw.post_with_key("/v1/payment_intents", "key-4", &slow).await
    });
    assert_eq!(a.0, 200);
    assert_eq!(b.0, 409);
    assert_eq!(b.1["error"]["code"], "idempotency_key_in_use");
}

#[tokio::test]
async fn injected_charge_failures_happen_once_and_charge_nothing() {
    let gw = start().await;
    gw.set_faults(serde_json::json!({ "charge_fail_next": 1 })).await;
    let token = gw.stripe_token("4242424242424242").await;
    let form = [
        ("amount", "500"),
        ("currency", "usd"),
        ("confirm", "true"),
        ("payment_method_data[type]", "card"),
        ("payment_method_data[card][token]", token.as_str()),
    ];
    let (status, body, _) = gw.post_with_key("/v1/payment_intents", "k", &form).await;
    assert_eq!(status, 500);
    assert_eq!(body["error"]["type"], "api_error");
    let (status, pi, _) = gw.post_with_key("/v1/payment_intents", "k", &form).await;
    assert_eq!((status, pi["status"].as_str()), (200, Some("succeeded")));
}

#[tokio::test]
async fn malformed_requests_get_stripes_error_shapes() {
    let gw = start().await;
    let (status, body, _) =
        gw.post("/v1/payment_intents", &[("amount", "100"), ("currency", "usd"), ("colour", "red")]).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "parameter_unknown");
    assert_eq!(body["error"]["param"], "colour");
    let (_, body, _) = gw.post("/v1/payment_intents", &[("currency", "usd")]).await;
    assert_eq!(body["error"]["code"], "parameter_missing");
    assert_eq!(body["error"]["param"], "amount");
    let (_, body, _) = gw.post("/v1/payment_intents", &[("amount", "ten"), ("currency", "usd")]).await;
    assert_eq!(body["error"]["code"], "parameter_invalid_integer");

    let json = gw
        .http
        .post(gw.url("/v1/payment_intents"))
        .bearer_auth(gw.sk())
        .json(&serde_json::json!({"amount": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(json.status(), 400);
    let body: Value = json.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains("application/x-www-form-urlencoded"));

    let big = "a".repeat(300 * 1024);
    let r = gw
        .http
        .post(gw.url("/v1/payment_intents"))
        .bearer_auth(gw.sk())
        .form(&[("description", big.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["type"], "invalid_request_error");

    let r = gw.http.get(gw.url("/v1/nothing")).bearer_auth(gw.sk()).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert!(
        r.json::<Value>().await.unwrap()["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Unrecognized request URL (GET: /v1/nothing)")
    );
}

#[tokio::test]
async fn another_accounts_objects_are_not_found_as_if_they_did_not_exist() {
    let gw = start().await;
    let (_, intent, _) = gw.charge("4242424242424242", &[]).await;
    let (_, refund, _) = gw.post("/v1/refunds", &[("payment_intent", intent["id"].as_str().unwrap())]).await;
    let (_, endpoint, _) =
        gw.post("/v1/webhook_endpoints", &[("url", "https://shop.example/hook"), ("enabled_events[]", "*")]).await;
    let other = serve(gw.sandbox.clone(), gw.sandbox.create_account()).await;
    for path in [
        format!("/v1/payment_intents/{}", intent["id"].as_str().unwrap()),
        format!("/v1/refunds/{}", refund["id"].as_str().unwrap()),
        format!("/v1/webhook_endpoints/{}", endpoint["id"].as_str().unwrap()),
    ] {
        let (status, body, _) = other.get(&path).await;
        assert_eq!((status, &body["error"]["code"]), (404, &Value::from("resource_missing")), "{path}: {body}");
        assert_eq!(gw.get(&path).await.0, 200, "{path}");
    }
}
