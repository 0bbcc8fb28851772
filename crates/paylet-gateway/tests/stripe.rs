//! The Stripe-style adapter against the sandbox over real HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::pending;

use paylet_api::{Currency, Money};
use paylet_gateway::stripe::StripeGateway;
use paylet_gateway::{ChargeOutcome, ChargeRequest, DeclineCode, Gateway, GatewayError, http_client};
use paylet_sandbox::{Account, Sandbox};
use tokio::net::TcpListener;

async fn start() -> (String, Account) {
    let sandbox = Sandbox::new();
    let account = sandbox.create_account();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(sandbox.serve(listener, pending()));
    (base, account)
}

async fn token(base: &str, account: &Account, number: &str) -> String {
    let form = [
        ("key", account.publishable_key.as_str()),
        ("card[number]", number),
        ("card[exp_month]", "12"),
        ("card[exp_year]", "2034"),
    ];
    let body: serde_json::Value = reqwest::Client::new()
        .post(format!("{base}/v1/tokens"))
        .form(&form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["id"].as_str().unwrap().to_owned()
}

async fn charge(number: &str) -> Result<ChargeOutcome, GatewayError> {
    charge_returning(number, None).await
}

async fn charge_returning(number: &str, return_url: Option<&str>) -> Result<ChargeOutcome, GatewayError> {
    let (base, account) = start().await;
    let token = token(&base, &account, number).await;
    let gateway = StripeGateway::new(http_client(), &base, account.secret_key.clone());
    let amount = Money::new(2500, Currency::parse("USD").unwrap()).unwrap();
    gateway
        .charge(ChargeRequest { amount, token: &token, idempotency_key: "key-1", reference: "ord_1", return_url })
        .await
}

#[tokio::test]
async fn success_is_succeeded_with_the_payment_intent() {
    match charge("4242424242424242").await.unwrap() {
        ChargeOutcome::Succeeded { payment_id } => assert!(payment_id.starts_with("pi_")),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn each_test_card_decline_maps_to_its_code() {
    let cases = [
        ("4000000000000002", DeclineCode::Generic),
        ("4000000000009995", DeclineCode::InsufficientFunds),
        ("4000000000009987", DeclineCode::LostOrStolen),
        ("4000000000009979", DeclineCode::LostOrStolen),
        ("4000000000000069", DeclineCode::ExpiredCard),
        ("4000000000000127", DeclineCode::IncorrectCvc),
        ("4000000000000119", DeclineCode::ProcessingError),
    ];
    for (number, want) in cases {
        match charge(number).await.unwrap() {
            ChargeOutcome::Declined { code, payment_id } => {
                assert_eq!(code, want, "{number}");
                assert!(payment_id.is_some_and(|id| id.starts_with("pi_")));
            }
            other => panic!("{number}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn three_d_secure_cards_require_action() {
    match charge_returning("4000002500003155", Some("https://shop.example/back")).await.unwrap() {
        ChargeOutcome::RequiresAction { redirect_url, .. } => assert!(redirect_url.contains("/hosted/3ds/")),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_wrong_secret_key_is_an_authentication_error() {
    let (base, account) = start().await;
    let token = token(&base, &account, "4242424242424242").await;
    let gateway = StripeGateway::new(http_client(), &base, "sk_test_wrong".into());
    let amount = Money::new(100, Currency::parse("USD").unwrap()).unwrap();
    let result = gateway
        .charge(ChargeRequest { amount, token: &token, idempotency_key: "k", reference: "ord_1", return_url: None })
        .await;
    assert!(matches!(result, Err(GatewayError::Authentication)), "{result:?}");
}

#[tokio::test]
async fn an_unreachable_gateway_is_an_error_not_a_panic() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let gateway = StripeGateway::new(http_client(), &base, "sk_test_x".into());
    let amount = Money::new(100, Currency::parse("USD").unwrap()).unwrap();
    let result = gateway
        .charge(ChargeRequest { amount, token: "tok_x", idempotency_key: "k", reference: "ord_1", return_url: None })
        .await;
    assert!(matches!(result, Err(GatewayError::Unreachable(_))), "{result:?}");
}
