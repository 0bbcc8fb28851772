use std::future::pending;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use paylet_api::GatewayStyle;
use paylet_sandbox::{Account, Sandbox, SandboxConfig};
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// A running sandbox with one fresh account.
pub struct Gateway {
    pub base: String,
    pub sandbox: Sandbox,
    pub account: Account,
    pub http: reqwest::Client,
}

/// Fast retries, so webhook tests finish in a moment.
pub fn fast_config() -> SandboxConfig {
    SandboxConfig {
        retry_schedule: vec![Duration::from_millis(30); 5],
        refund_settle: Duration::from_millis(20),
        ..SandboxConfig::default()
    }
}

pub async fn start() -> Gateway {
    start_with(fast_config()).await
}

pub async fn start_with(config: SandboxConfig) -> Gateway {
    let sandbox = Sandbox::with_config(config).unwrap();
    let account = sandbox.create_account();
    serve(sandbox, account).await
}

pub async fn serve(sandbox: Sandbox, account: Account) -> Gateway {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(sandbox.clone().serve(listener, pending()));
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    Gateway { base, sandbox, account, http }
}

pub type Reply = (u16, Value, HeaderMap);

async fn reply(response: reqwest::Response) -> Reply {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, response.json().await.unwrap_or(Value::Null), headers)
}

impl Gateway {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn sk(&self) -> &str {
        self.account.secret_key.expose()
    }

    pub fn token(&self) -> &str {
        self.account.access_token.expose()
    }

    /// A Stripe-style form POST with the secret key.
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Reply {
        reply(self.http.post(self.url(path)).bearer_auth(self.sk()).form(form).send().await.unwrap()).await
    }

    pub async fn post_with_key(&self, path: &str, key: &str, form: &[(&str, &str)]) -> Reply {
        reply(
            self.http
                .post(self.url(path))
                .bearer_auth(self.sk())
                .header("Idempotency-Key", key)
                .form(form)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    pub async fn get(&self, path: &str) -> Reply {
        reply(self.http.get(self.url(path)).bearer_auth(self.sk()).send().await.unwrap()).await
    }

    /// A Square-style JSON POST with the access token.
    pub async fn post_json(&self, path: &str, body: &Value) -> Reply {
        reply(self.http.post(self.url(path)).bearer_auth(self.token()).json(body).send().await.unwrap()).await
    }

    pub async fn get_square(&self, path: &str) -> Reply {
        reply(self.http.get(self.url(path)).bearer_auth(self.token()).send().await.unwrap()).await
    }

    /// Tokenizes a card with the publishable key, as a browser does.
    pub async fn stripe_token(&self, number: &str) -> String {
        self.browser_token(GatewayStyle::Stripe, number).await
    }

    /// Creates and confirms a PaymentIntent for `number`.
    pub async fn charge(&self, number: &str, extra: &[(&str, &str)]) -> Reply {
        let token = self.stripe_token(number).await;
        let mut form = vec![
            ("amount", "2500"),
            ("currency", "usd"),
            ("confirm", "true"),
            ("payment_method_data[type]", "card"),
            ("payment_method_data[card][token]", token.as_str()),
        ];
        form.extend_from_slice(extra);
        self.post("/v1/payment_intents", &form).await
    }

    pub async fn square_nonce(&self, number: &str) -> String {
        self.browser_token(GatewayStyle::Square, number).await
    }

    async fn browser_token(&self, style: GatewayStyle, number: &str) -> String {
        paylet_sandbox::testing::browser_token(&self.http, &self.base, &self.account, style, number).await.unwrap()
    }

    pub async fn square_pay(&self, source_id: &str, key: &str) -> Reply {
        let body = json!({
            "source_id": source_id,
            "idempotency_key": key,
            "amount_money": { "amount": 2500, "currency": "USD" },
            "reference_id": "ord_1",
        });
        self.post_json("/v2/payments", &body).await
    }

    pub async fn set_faults(&self, faults: Value) {
        let r = self
            .http
            .put(self.url(&format!("/_sandbox/accounts/{}/faults", self.account.id)))
            .json(&faults)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.status());
    }

    /// The delivery log for this account.
    pub async fn attempts(&self) -> Vec<Value> {
        let r: Value = self
            .http
            .get(self.url(&format!("/_sandbox/deliveries?account={}", self.account.id)))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        r["attempts"].as_array().cloned().unwrap_or_default()
    }

    /// Waits (polling, up to 10 s) until `done` holds for the delivery log.
    pub async fn wait_for_attempts(&self, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        for _ in 0..500 {
            let attempts = self.attempts().await;
            if done(&attempts) {
                return attempts;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("deliveries never settled: {:#?}", self.attempts().await);
    }
}

/// A request a webhook receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// A webhook receiver on a free port that records what it gets and answers
/// with the statuses in `script` in turn (then 200).
pub struct Receiver {
    pub url: String,
    pub received: Arc<Mutex<Vec<Received>>>,
}

#[derive(Clone)]
struct ReceiverState {
    received: Arc<Mutex<Vec<Received>>>,
    script: Arc<Mutex<Vec<u16>>>,
}

pub async fn receiver(script: Vec<u16>) -> Receiver {
    receiver_on(TcpListener::bind("127.0.0.1:0").await.unwrap(), script)
}

pub fn receiver_on(listener: TcpListener, script: Vec<u16>) -> Receiver {
    let state = ReceiverState { received: Arc::default(), script: Arc::new(Mutex::new(script)) };
    let received = state.received.clone();
    let app = Router::new().route("/hook", post(receive)).with_state(state);
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Receiver { url, received }
}

async fn receive(State(state): State<ReceiverState>, headers: HeaderMap, body: Bytes) -> StatusCode {
    state.received.lock().unwrap().push(Received { headers, body });
    let mut script = state.script.lock().unwrap();
    let status = if script.is_empty() { 200 } else { script.remove(0) };
    StatusCode::from_u16(status).unwrap()
}

impl Receiver {
    pub fn got(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        for _ in 0..500 {
            if self.got().len() >= n {
                return self.got();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("expected {n} deliveries, got {}", self.got().len());
    }
}

/// The event types in bodies received, in order.
pub fn types(received: &[Received]) -> Vec<String> {
    received
        .iter()
        .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap()["type"].as_str().unwrap().to_owned())
        .collect()
}
