//! Every flow against every adapter: the Stripe-style and the Square-style
//! clients, each against the sandbox over real HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::pending;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::HeaderMap;
use paylet_api::{Currency, GatewayStyle, Money};
use paylet_gateway::square::SquareGateway;
use paylet_gateway::stripe::StripeGateway;
use paylet_gateway::{
    Change, ChargeRequest, ConfirmRequest, DeclineCode, Gateway, GatewayError, HostedLine, HostedRequest, PaymentNews,
    RefundRequest, RefundState, ShopperAction, WebhookError, WebhookRequest, http_client,
};
use paylet_sandbox::{Account, Sandbox};
use paylet_secret::Secret;
use serde_json::{Value, json};
use tokio::net::TcpListener;

const STYLES: [GatewayStyle; 2] = [GatewayStyle::Stripe, GatewayStyle::Square];
const RETURN_URL: &str = "https://shop.example/back?order=ord_1";

struct Rig {
    style: GatewayStyle,
    base: String,
    account: Account,
    gateway: Arc<dyn Gateway>,
    http: reqwest::Client,
    sandbox: Sandbox,
}

async fn rig(style: GatewayStyle) -> Rig {
    let sandbox = Sandbox::new();
    let account = sandbox.create_account();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(sandbox.clone().serve(listener, pending()));
    let gateway = adapter(style, &base, &account, Duration::from_secs(10));
    // The shopper's browser: redirects are looked at, not followed.
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    Rig { style, base, account, gateway, http, sandbox }
}

fn adapter(style: GatewayStyle, base: &str, account: &Account, timeout: Duration) -> Arc<dyn Gateway> {
    match style {
        GatewayStyle::Stripe => Arc::new(StripeGateway::new(http_client(timeout), base, account.secret_key.clone())),
        GatewayStyle::Square => Arc::new(SquareGateway::new(
            http_client(timeout),
            base,
            account.access_token.clone(),
            Some(account.location_id.clone()),
        )),
    }
}

fn usd(cents: i64) -> Money {
    Money::new(cents, Currency::parse("USD").unwrap()).unwrap()
}

impl Rig {
    /// What the widget does in the browser: card to the gateway, token back.
    async fn token(&self, number: &str) -> String {
        paylet_sandbox::testing::browser_token(&self.http, &self.base, &self.account, self.style, number).await.unwrap()
    }

    async fn charge_card(&self, number: &str, key: &str) -> Result<PaymentNews, GatewayError> {
        let token = self.token(number).await;
        self.gateway.charge(charge_request(&token, key)).await
    }

    async fn faults(&self, faults: Value) {
        let url = format!("{}/_sandbox/accounts/{}/faults", self.base, self.account.id);
        assert!(self.http.put(url).json(&faults).send().await.unwrap().status().is_success());
    }

    /// The shopper passes or fails the challenge page; returns the query the
    /// gateway sent them back with.
    async fn challenge(&self, redirect_url: &str, pass: bool) -> Vec<(String, String)> {
        let url = reqwest::Url::parse(redirect_url).unwrap();
        let page = self.http.get(url.clone()).send().await.unwrap();
        assert!(page.status().is_success(), "{}", page.status());
        let mut form: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        form.push(("action".into(), if pass { "complete" } else { "fail" }.into()));
        let mut post = url.clone();
        post.set_query(None);
        let answer = self.http.post(post).form(&form).send().await.unwrap();
        let location = answer.headers()["location"].to_str().unwrap().to_owned();
        assert!(location.starts_with(RETURN_URL), "{location}");
        reqwest::Url::parse(&location).unwrap().query_pairs().into_owned().collect()
    }
}

fn charge_request<'a>(token: &'a str, key: &'a str) -> ChargeRequest<'a> {
    ChargeRequest {
        amount: usd(2500),
        token,
        idempotency_key: key,
        reference: "ord_1",
        return_url: RETURN_URL,
        browser_sdk: false,
        verification_token: None,
    }
}

#[tokio::test]
async fn a_good_card_is_charged_and_reads_back_as_succeeded() {
    for style in STYLES {
        let rig = rig(style).await;
        let PaymentNews::Succeeded { payment_id } = rig.charge_card("4242424242424242", "k-1").await.unwrap() else {
            panic!("{style:?}")
        };
        let succeeded = PaymentNews::Succeeded { payment_id: payment_id.clone() };
        assert_eq!(rig.gateway.payment(&payment_id).await.unwrap(), succeeded, "{style:?}");
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
    for style in STYLES {
        let rig = rig(style).await;
        for (i, (number, want)) in cases.into_iter().enumerate() {
            match rig.charge_card(number, &format!("k-{i}")).await.unwrap() {
                PaymentNews::Declined { code, payment_id } => {
                    assert_eq!(code, want, "{style:?} {number}");
                    assert!(payment_id.is_some(), "{style:?} {number}: the gateway's failed payment is named");
                }
                other => panic!("{style:?} {number}: {other:?}"),
            }
        }
    }
}

#[tokio::test]
async fn three_d_secure_passes_or_fails_on_the_challenge_page() {
    for style in STYLES {
        for pass in [true, false] {
            let rig = rig(style).await;
            let token = rig.token("4000002500003155").await;
            let PaymentNews::RequiresAction { payment_id, next: Some(ShopperAction::Redirect(redirect_url)) } =
                rig.gateway.charge(charge_request(&token, "k-3ds")).await.unwrap()
            else {
                panic!("{style:?}")
            };
            let back = rig.challenge(&redirect_url, pass).await;
            let verification = back.iter().find(|(k, _)| k == "verification_token").map(|(_, v)| v.as_str());
            let outcome = rig
                .gateway
                .confirm(ConfirmRequest {
                    charge: charge_request(&token, "k-3ds"),
                    payment_id: payment_id.as_deref(),
                    verification_token: verification,
                })
                .await
                .unwrap();
            match (pass, outcome) {
                (true, PaymentNews::Succeeded { .. }) => {}
                (false, PaymentNews::Declined { code: DeclineCode::AuthenticationFailed, .. }) => {}
                (_, other) => panic!("{style:?} pass={pass}: {other:?}"),
            }
        }
    }
}

#[tokio::test]
async fn with_stripe_js_in_the_browser_a_challenge_is_handed_over_as_the_intents_client_secret() {
    let rig = rig(GatewayStyle::Stripe).await;
    let token = rig.token("4000002500003155").await;
    let request = ChargeRequest { browser_sdk: true, ..charge_request(&token, "k-sdk") };
    let PaymentNews::RequiresAction { payment_id: Some(payment_id), next: Some(ShopperAction::Sdk { client_secret }) } =
        rig.gateway.charge(request).await.unwrap()
    else {
        panic!("no action for Stripe.js")
    };
    // Stripe's client secrets are the intent's id, `_secret_`, and a nonce.
    assert!(client_secret.expose().starts_with(&format!("{payment_id}_secret_")));
    let waiting = PaymentNews::RequiresAction { payment_id: Some(payment_id.clone()), next: None };
    assert_eq!(rig.gateway.payment(&payment_id).await.unwrap(), waiting);
}

#[tokio::test]
async fn a_hosted_page_paid_by_the_shopper_reads_back_as_paid() {
    for style in STYLES {
        let rig = rig(style).await;
        let lines = [
            HostedLine { name: "Tee".into(), quantity: 2, unit_price: usd(2500) },
            HostedLine { name: "Mug".into(), quantity: 1, unit_price: usd(1800) },
        ];
        let session = rig
            .gateway
            .create_hosted(HostedRequest {
                lines: &lines,
                total: usd(6800),
                reference: "ord_1",
                idempotency_key: "h-1",
                customer_email: Some("ada@example.com"),
                success_url: RETURN_URL,
                cancel_url: "https://shop.example/cart",
            })
            .await
            .unwrap();
        assert_eq!(rig.gateway.hosted_status(&session.id).await.unwrap(), PaymentNews::Pending);
        let page = rig.http.get(&session.url).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("68.00"), "{style:?}: {page}");
        let form =
            [("email", "ada@example.com"), ("number", "4242 4242 4242 4242"), ("expiry", "12 / 34"), ("cvc", "123")];
        let paid = rig.http.post(&session.url).form(&form).send().await.unwrap();
        let location = paid.headers().get("location").map(|l| l.to_str().unwrap().to_owned());
        assert!(
            location.as_deref().is_some_and(|l| l.starts_with("https://shop.example/back")),
            "{style:?}: {location:?}"
        );
        let PaymentNews::Succeeded { payment_id } = rig.gateway.hosted_status(&session.id).await.unwrap() else {
            panic!("{style:?}")
        };
        let succeeded = PaymentNews::Succeeded { payment_id: payment_id.clone() };
        assert_eq!(rig.gateway.payment(&payment_id).await.unwrap(), succeeded);
    }
}

#[tokio::test]
async fn a_partial_refund_settles_and_a_refund_beyond_the_charge_is_refused() {
    for style in STYLES {
        let rig = rig(style).await;
        let PaymentNews::Succeeded { payment_id } = rig.charge_card("4242424242424242", "k-1").await.unwrap() else {
            panic!()
        };
        let refund = rig
            .gateway
            .refund(RefundRequest { payment_id: &payment_id, amount: usd(1000), idempotency_key: "r-1" })
            .await
            .unwrap();
        assert_ne!(refund.state, RefundState::Failed);
        let mut state = refund.state;
        for _ in 0..50 {
            if state == RefundState::Succeeded {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            state = rig.gateway.refund_state(&refund.refund_id).await.unwrap();
        }
        assert_eq!(state, RefundState::Succeeded, "{style:?}");
        let too_much = rig
            .gateway
            .refund(RefundRequest { payment_id: &payment_id, amount: usd(5000), idempotency_key: "r-2" })
            .await;
        assert!(matches!(too_much, Err(GatewayError::Rejected { .. })), "{style:?}: {too_much:?}");

        // Asked by payment, the gateway lists that refund, as it stands.
        let listed = rig.gateway.refunds_of(&payment_id).await.unwrap();
        assert_eq!(listed.len(), 1, "{style:?}: {listed:?}");
        assert_eq!((&listed[0].refund_id, listed[0].amount, listed[0].state), (&refund.refund_id, usd(1000), state));
    }
}

type Received = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

/// A receiver for the gateway's webhooks that keeps what it got.
async fn receiver() -> (String, Received) {
    let got = Received::default();
    let keep = got.clone();
    let app = axum::Router::new().route(
        "/hooks",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let keep = keep.clone();
            async move { keep.lock().unwrap().push((headers, body)) }
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, got)
}

fn now() -> i64 {
    i64::try_from(std::time::UNIX_EPOCH.elapsed().unwrap().as_secs()).unwrap()
}

#[tokio::test]
async fn registered_webhooks_verify_and_read_as_payment_events() {
    for style in STYLES {
        let rig = rig(style).await;
        let (url, got) = receiver().await;
        let endpoint = rig.gateway.register_webhook(&url, "wh-1").await.unwrap();
        let PaymentNews::Succeeded { payment_id } = rig.charge_card("4242424242424242", "k-1").await.unwrap() else {
            panic!()
        };
        let verify = |headers: &HeaderMap, body: &[u8], secret: &Secret, now: i64| {
            let secrets = [secret];
            let request = WebhookRequest { headers, body, url: &url, secrets: &secrets, tolerance_secs: 300, now };
            paylet_gateway::verify_webhook(rig.style, &request)
        };
        let mut succeeded = None;
        for _ in 0..100 {
            let deliveries = got.lock().unwrap().clone();
            succeeded = deliveries.into_iter().find(|(headers, body)| {
                let event = verify(headers, body, &endpoint.secret, now()).unwrap();
                matches!(&event.change, Change::Payment { news: PaymentNews::Succeeded { .. }, .. })
            });
            if succeeded.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let (headers, body) = succeeded.unwrap_or_else(|| panic!("{style:?}: no payment event arrived"));
        let event = verify(&headers, &body, &endpoint.secret, now()).unwrap();
        let Change::Payment { payment_id: in_event, reference, .. } = &event.change else { panic!() };
        assert_eq!((in_event, reference.as_deref()), (&payment_id, Some("ord_1")), "{style:?}");

        // Any other secret, a changed byte, or a stale timestamp (Stripe style) fails.
        let wrong = Secret::new("whsec_wrong".to_owned());
        assert!(matches!(verify(&headers, &body, &wrong, now()), Err(WebhookError::Signature(_))));
        let mut tampered = body.to_vec();
        tampered[10] ^= 1;
        assert!(matches!(verify(&headers, &tampered, &endpoint.secret, now()), Err(WebhookError::Signature(_))));
        if style == GatewayStyle::Stripe {
            assert!(matches!(verify(&headers, &body, &endpoint.secret, now() + 301), Err(WebhookError::Signature(_))));
        }
    }
}

#[tokio::test]
async fn a_failed_call_is_retried_with_the_same_key_and_charges_once() {
    for style in STYLES {
        let rig = rig(style).await;
        rig.faults(json!({ "charge_fail_next": 1 })).await;
        let outcome = rig.charge_card("4242424242424242", "k-retry").await.unwrap();
        assert!(matches!(outcome, PaymentNews::Succeeded { .. }), "{style:?}: {outcome:?}");
        let path = if style == GatewayStyle::Stripe { "/v1/payment_intents" } else { "/v2/payments" };
        let calls: Vec<u16> = rig.sandbox.request_log().iter().filter(|r| r.path == path).map(|r| r.status).collect();
        assert_eq!(calls, [500, 200], "{style:?}: failed once, then retried");
        assert_eq!(rig.sandbox.succeeded_payments(&rig.account.id).len(), 1, "{style:?}");
    }
}

#[tokio::test]
async fn a_slow_gateway_times_out_and_the_same_key_later_gets_the_first_answer() {
    for style in STYLES {
        let rig = rig(style).await;
        let impatient = adapter(style, &rig.base, &rig.account, Duration::from_millis(300));
        rig.faults(json!({ "charge_latency_ms": 3000 })).await;
        let token = rig.token("4242424242424242").await;
        let first = impatient.charge(charge_request(&token, "k-slow")).await;
        assert!(first.as_ref().is_err_and(GatewayError::is_indeterminate), "{style:?}: {first:?}");
        rig.faults(json!({})).await;
        tokio::time::sleep(Duration::from_millis(3000)).await;
        let again = rig.gateway.charge(charge_request(&token, "k-slow")).await.unwrap();
        let first_payment = match again {
            PaymentNews::Succeeded { payment_id } => payment_id,
            other => panic!("{style:?}: {other:?}"),
        };
        // And the same answer once more: one payment, never two.
        let third = rig.gateway.charge(charge_request(&token, "k-slow")).await.unwrap();
        assert_eq!(third, PaymentNews::Succeeded { payment_id: first_payment }, "{style:?}");
        assert_eq!(rig.sandbox.succeeded_payments(&rig.account.id).len(), 1, "{style:?}");
    }
}

#[tokio::test]
async fn wrong_credentials_and_an_unreachable_gateway_are_errors_not_panics() {
    for style in STYLES {
        let rig = rig(style).await;
        let token = rig.token("4242424242424242").await;
        let mut stranger = rig.account.clone();
        stranger.secret_key = Secret::new("sk_test_wrong".to_owned());
        stranger.access_token = Secret::new("EAAAEwrong".to_owned());
        let wrong = adapter(style, &rig.base, &stranger, Duration::from_secs(5));
        let result = wrong.charge(charge_request(&token, "k")).await;
        assert!(matches!(result, Err(GatewayError::Authentication)), "{style:?}: {result:?}");

        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let nowhere = format!("http://{}", listener.local_addr().unwrap());
        drop(listener);
        let unreachable = adapter(style, &nowhere, &rig.account, Duration::from_secs(5));
        let result = unreachable.charge(charge_request(&token, "k")).await;
        assert!(matches!(result, Err(GatewayError::Unreachable(_))), "{style:?}: {result:?}");
    }
}
