//! The Stripe-style API over real HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::pending;

use paylet_sandbox::{Account, Sandbox};
use serde_json::Value;
use tokio::net::TcpListener;

struct Gateway {
    base: String,
    sandbox: Sandbox,
    account: Account,
    http: reqwest::Client,
}

async fn start() -> Gateway {
    let sandbox = Sandbox::new();
    let account = sandbox.create_account();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(sandbox.clone().serve(listener, pending()));
    Gateway { base, sandbox, account, http: reqwest::Client::new() }
}

impl Gateway {
    async fn post(&self, path: &str, key: Option<&str>, form: &[(&str, &str)]) -> (u16, Value) {
        let mut request = self.http.post(format!("{}{path}", self.base)).form(form);
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        let response = request.send().await.unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    async fn token(&self, number: &str) -> (u16, Value) {
        let card =
            [("card[number]", number), ("card[exp_month]", "12"), ("card[exp_year]", "2034"), ("card[cvc]", "123")];
        self.post("/v1/tokens", Some(&self.account.publishable_key), &card).await
    }

    async fn charge(&self, token: &str) -> (u16, Value) {
        let form = [
            ("amount", "2500"),
            ("currency", "usd"),
            ("confirm", "true"),
            ("payment_method_data[type]", "card"),
            ("payment_method_data[card][token]", token),
        ];
        self.post("/v1/payment_intents", Some(self.account.secret_key.expose()), &form).await
    }
}

#[tokio::test]
async fn tokens_accept_cross_origin_preflight_from_any_page() {
    let gw = start().await;
    let response = gw
        .http
        .request(reqwest::Method::OPTIONS, format!("{}/v1/tokens", gw.base))
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
    let (status, token) = gw.token("4242424242424242").await;
    assert_eq!(status, 200, "{token}");
    assert!(token["id"].as_str().unwrap().starts_with("tok_"));
    assert_eq!(token["object"], "token");
    assert_eq!(token["card"]["brand"], "Visa");
    assert_eq!(token["card"]["last4"], "4242");
    assert_eq!(token["used"], false);
    assert!(!token.to_string().contains("4242424242424242"));
}

#[tokio::test]
async fn the_publishable_key_may_come_in_the_body() {
    let gw = start().await;
    let form = [
        ("key", gw.account.publishable_key.as_str()),
        ("card[number]", "4242424242424242"),
        ("card[exp_month]", "12"),
        ("card[exp_year]", "2034"),
    ];
    let (status, _) = gw.post("/v1/tokens", None, &form).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn bad_card_details_get_stripe_card_errors() {
    let gw = start().await;
    let (status, body) = gw.token("4242424242424241").await;
    assert_eq!(status, 402);
    assert_eq!(body["error"]["type"], "card_error");
    assert_eq!(body["error"]["code"], "incorrect_number");
    assert_eq!(body["error"]["param"], "number");

    let card = [("card[number]", "4242424242424242"), ("card[exp_month]", "13"), ("card[exp_year]", "2034")];
    let (status, body) = gw.post("/v1/tokens", Some(&gw.account.publishable_key), &card).await;
    assert_eq!(status, 402);
    assert_eq!(body["error"]["code"], "invalid_expiry_month");

    let card = [("card[number]", "4242424242424242"), ("card[exp_month]", "12"), ("card[exp_year]", "2001")];
    let (_, body) = gw.post("/v1/tokens", Some(&gw.account.publishable_key), &card).await;
    assert_eq!(body["error"]["code"], "invalid_expiry_year");

    let card = [
        ("card[number]", "4242424242424242"),
        ("card[exp_month]", "12"),
        ("card[exp_year]", "2034"),
        ("card[cvc]", "12x"),
    ];
    let (_, body) = gw.post("/v1/tokens", Some(&gw.account.publishable_key), &card).await;
    assert_eq!(body["error"]["code"], "invalid_cvc");
}

#[tokio::test]
async fn keys_are_checked_like_stripe_checks_them() {
    let gw = start().await;
    let (status, body) = gw.post("/v1/payment_intents", None, &[("amount", "100")]).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["type"], "invalid_request_error");

    let (status, body) = gw.post("/v1/payment_intents", Some("sk_test_wrong"), &[("amount", "100")]).await;
    assert_eq!(status, 401);
    assert!(body["error"]["message"].as_str().unwrap().starts_with("Invalid API Key provided: sk_test_****"));

    let (status, _) = gw.post("/v1/payment_intents", Some(&gw.account.publishable_key), &[("amount", "100")]).await;
    assert_eq!(status, 401);

    // Raw card data only from the browser's key.
    let card = [("card[number]", "4242424242424242"), ("card[exp_month]", "12"), ("card[exp_year]", "2034")];
    let (status, _) = gw.post("/v1/tokens", Some(gw.account.secret_key.expose()), &card).await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn accounts_cannot_use_each_others_tokens() {
    let a = start().await;
    let (_, token) = a.token("4242424242424242").await;
    let other = Gateway {
        base: a.base.clone(),
        sandbox: a.sandbox.clone(),
        account: a.sandbox.create_account(),
        http: reqwest::Client::new(),
    };
    let (status, body) = other.charge(token["id"].as_str().unwrap()).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"]["code"], "resource_missing");
    // The token is still good for its own account.
    let (status, _) = a.charge(token["id"].as_str().unwrap()).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_good_card_succeeds_and_a_token_works_once() {
    let gw = start().await;
    let (_, token) = gw.token("4242424242424242").await;
    let token = token["id"].as_str().unwrap();
    let (status, intent) = gw.charge(token).await;
    assert_eq!(status, 200, "{intent}");
    assert_eq!(intent["object"], "payment_intent");
    assert_eq!(intent["status"], "succeeded");
    assert_eq!(intent["amount_received"], 2500);
    assert!(intent["latest_charge"].as_str().unwrap().starts_with("ch_"));

    let (status, body) = gw.charge(token).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "token_already_used");

    let id = intent["id"].as_str().unwrap();
    let response = gw
        .http
        .get(format!("{}/v1/payment_intents/{id}", gw.base))
        .bearer_auth(gw.account.secret_key.expose())
        .send()
        .await
        .unwrap();
    let fetched: Value = response.json().await.unwrap();
    assert_eq!(fetched["status"], "succeeded");
}

#[tokio::test]
async fn a_declined_card_is_a_402_carrying_the_intent() {
    let gw = start().await;
    let (_, token) = gw.token("4000000000000002").await;
    let (status, body) = gw.charge(token["id"].as_str().unwrap()).await;
    assert_eq!(status, 402);
    assert_eq!(body["error"]["type"], "card_error");
    assert_eq!(body["error"]["code"], "card_declined");
    assert_eq!(body["error"]["decline_code"], "generic_decline");
    assert_eq!(body["error"]["payment_intent"]["status"], "requires_payment_method");
    assert_eq!(body["error"]["payment_intent"]["last_payment_error"]["decline_code"], "generic_decline");
}

#[tokio::test]
async fn unknown_and_missing_parameters_are_named() {
    let gw = start().await;
    let key = gw.account.secret_key.expose().to_owned();
    let (status, body) =
        gw.post("/v1/payment_intents", Some(&key), &[("amount", "100"), ("currency", "usd"), ("colour", "red")]).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "parameter_unknown");
    assert_eq!(body["error"]["param"], "colour");

    let (status, body) = gw.post("/v1/payment_intents", Some(&key), &[("currency", "usd")]).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "parameter_missing");
    assert_eq!(body["error"]["param"], "amount");

    let (_, body) = gw.post("/v1/payment_intents", Some(&key), &[("amount", "ten"), ("currency", "usd")]).await;
    assert_eq!(body["error"]["code"], "parameter_invalid_integer");
}

#[tokio::test]
async fn a_card_needing_3ds_asks_for_a_redirect() {
    let gw = start().await;
    let (_, token) = gw.token("4000000000003220").await;
    let (status, intent) = gw.charge(token["id"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(intent["status"], "requires_action");
    assert_eq!(intent["next_action"]["type"], "redirect_to_url");
    assert!(intent["next_action"]["redirect_to_url"]["url"].as_str().unwrap().starts_with(&gw.base));
}
