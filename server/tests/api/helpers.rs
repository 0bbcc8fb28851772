use std::future::pending;
use std::path::PathBuf;

use paylet::ServeOptions;
use paylet::catalog::{self, Product, Sku};
use paylet::db::Db;
use paylet::stores::{self, GatewaySettings, NewStore};
use paylet_api::{Currency, GatewayStyle, Money, PaymentMethod, StoreId};
use paylet_sandbox::{Account, Sandbox};
use serde_json::{Value, json};
use tokio::net::TcpListener;

pub const SHOP_ORIGIN: &str = "https://shop.example";

/// A server, its database and a sandbox gateway, all on fresh ports.
pub struct TestApp {
    pub base: String,
    pub sandbox_base: String,
    pub sandbox: Sandbox,
    pub account: Account,
    pub store: StoreId,
    /// `Bearer` credential for the store's admin API.
    pub admin_key: String,
    pub db: Db,
    pub database_url: String,
    pub http: reqwest::Client,
    pub dir: tempfile::TempDir,
}

/// The catalog every test store starts with: (sku, name, cents).
pub const PRODUCTS: [(&str, &str, i64); 2] = [("TEE", "Tee", 2500), ("MUG", "Mug", 1800)];

pub async fn spawn_app() -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let database_url = database_url(&dir).await;
    let db = Db::connect(&database_url).await.unwrap();
    db.migrate().await.unwrap();

    let sandbox = Sandbox::new();
    let account = sandbox.create_account();
    let sandbox_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sandbox_base = format!("http://{}", sandbox_listener.local_addr().unwrap());
    tokio::spawn(sandbox.clone().serve(sandbox_listener, pending()));

    let usd = Currency::parse("USD").unwrap();
    let store = stores::put(
        &db,
        NewStore {
            id: None,
            name: "Test Store".into(),
            currency: usd,
            payment_methods: vec![PaymentMethod::Card, PaymentMethod::Hosted],
            allowed_origins: vec![SHOP_ORIGIN.into()],
            gateway: GatewaySettings {
                style: GatewayStyle::Stripe,
                api_base: sandbox_base.clone(),
                public_key: account.publishable_key.clone(),
                secret_key: account.secret_key.clone(),
            },
        },
    )
    .await
    .unwrap();
    for (sku, name, cents) in PRODUCTS {
        let product = Product {
            sku: Sku::parse(sku).unwrap(),
            name: name.into(),
            price: Money::new(cents, usd).unwrap(),
            active: true,
        };
        catalog::upsert(&db, &store.id, &product).await.unwrap();
    }
    let admin_key = paylet::auth::create_key(&db, &store.id).await.unwrap().expose().clone();

    let widget_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../widget/dist");
    let app = paylet::app(db.clone(), ServeOptions { widget_dir }, None);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(paylet::serve(listener, app, pending()));

    TestApp {
        base,
        sandbox_base,
        sandbox,
        account,
        store: store.id,
        admin_key,
        db,
        database_url,
        http: reqwest::Client::new(),
        dir,
    }
}

/// Databases left by the previous run are dropped once, before this run makes its own.
static DROP_OLD_DATABASES: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();

/// A SQLite file in the test's directory, or a fresh Postgres database.
async fn database_url(dir: &tempfile::TempDir) -> String {
    if std::env::var("PAYLET_TEST_DATABASE").as_deref() != Ok("postgres") {
        return format!("sqlite://{}/paylet.db", dir.path().display());
    }
    let base = std::env::var("PAYLET_TEST_POSTGRES_URL").expect("PAYLET_TEST_POSTGRES_URL for the Postgres run");
    let name = format!("paylet_test_{}", paylet::ids::random_string(12).to_lowercase());
    let admin = Db::connect(&base).await.expect("connect to PAYLET_TEST_POSTGRES_URL");
    DROP_OLD_DATABASES
        .get_or_init(|| async {
            let old: Vec<(String,)> =
                sqlx::query_as("SELECT datname::text FROM pg_database WHERE datname LIKE 'paylet_test_%'")
                    .fetch_all(admin.reader())
                    .await
                    .unwrap();
            for (old,) in old {
                sqlx::query(&format!("DROP DATABASE IF EXISTS {old} WITH (FORCE)"))
                    .execute(admin.reader())
                    .await
                    .unwrap();
            }
        })
        .await;
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(admin.reader()).await.unwrap();
    admin.close().await;
    let (prefix, _) = base.rsplit_once('/').expect("a database name in PAYLET_TEST_POSTGRES_URL");
    format!("{prefix}/{name}")
}

impl TestApp {
    /// Another server process on the same database, as a second instance
    /// behind a load balancer would be; returns its base URL.
    pub async fn second_server(&self) -> String {
        let db = Db::connect(&self.database_url).await.unwrap();
        let widget_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../widget/dist");
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(paylet::serve(listener, paylet::app(db, ServeOptions { widget_dir }, None), pending()));
        base
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let response = self.http.get(self.url(path)).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> (u16, Value) {
        let response = self.http.post(self.url(path)).json(body).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn admin_get(&self, path: &str) -> (u16, Value) {
        self.admin(reqwest::Method::GET, path, None).await
    }

    pub async fn admin_post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.admin(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn admin(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> (u16, Value) {
        self.admin_as(&self.admin_key, method, path, body).await
    }

    pub async fn admin_as(&self, key: &str, method: reqwest::Method, path: &str, body: Option<&Value>) -> (u16, Value) {
        let mut request = self.http.request(method, self.url(path)).bearer_auth(key);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Runs the `paylet` binary against this app's database; returns its
    /// exit success and stdout.
    pub fn cli(&self, args: &[&str]) -> (bool, String, String) {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_paylet"))
            .args(args)
            .env("PAYLET_DATABASE_URL", &self.database_url)
            .env("RUST_LOG", "warn")
            .current_dir(self.dir.path())
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    pub async fn create_order(&self, items: Value) -> (u16, Value) {
        let body = json!({ "items": items, "customer": { "email": "ada@example.com", "name": "Ada" } });
        self.post_json(&format!("/v1/stores/{}/orders", self.store), &body).await
    }

    /// An order for one tee, as the widget would create it.
    pub async fn order(&self) -> Value {
        let (status, order) = self.create_order(json!([{ "sku": "TEE", "quantity": 1 }])).await;
        assert_eq!(status, 201, "{order}");
        order
    }

    /// Tokenizes a card at the sandbox with the store's publishable key, as the
    /// widget does from the browser.
    pub async fn tokenize(&self, number: &str) -> String {
        let form = [
            ("key", self.account.publishable_key.as_str()),
            ("card[number]", number),
            ("card[exp_month]", "12"),
            ("card[exp_year]", "2034"),
            ("card[cvc]", "123"),
        ];
        let response = self.http.post(format!("{}/v1/tokens", self.sandbox_base)).form(&form).send().await.unwrap();
        assert!(response.status().is_success(), "tokenize {number}: {}", response.status());
        let token: Value = response.json().await.unwrap();
        token["id"].as_str().unwrap().to_owned()
    }

    pub async fn pay(&self, order: &Value, token: &str) -> (u16, Value) {
        let body = json!({ "client_secret": order["client_secret"], "token": token });
        self.post_json(&format!("/v1/orders/{}/payments", order["id"].as_str().unwrap()), &body).await
    }

    /// The order's status as the widget reads it.
    pub async fn order_status(&self, order: &Value) -> String {
        let secret = order["client_secret"].as_str().unwrap();
        let (status, body) =
            self.get(&format!("/v1/orders/{}?client_secret={secret}", order["id"].as_str().unwrap())).await;
        assert_eq!(status, 200, "{body}");
        body["status"].as_str().unwrap().to_owned()
    }

    /// How many charges the sandbox received.
    pub fn charges_at_gateway(&self) -> usize {
        self.sandbox.request_log().iter().filter(|r| r.method == "POST" && r.path == "/v1/payment_intents").count()
    }
}

/// Asserts the JSON error shape and returns its `error` object.
pub fn error<'a>(body: &'a Value, code: &str) -> &'a Value {
    let error = &body["error"];
    assert_eq!(error["code"], code, "{body}");
    assert!(error["type"].is_string(), "{body}");
    assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    error
}
