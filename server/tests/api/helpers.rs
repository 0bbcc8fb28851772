use std::future::pending;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use paylet::ServeOptions;
use paylet::app::{AppState, Settings};
use paylet::catalog::{self, Product, Sku};
use paylet::db::Db;
use paylet::outbound::UrlRules;
use paylet::stores::{self, GatewaySettings, Store, WebhookSettings};
use paylet::workers::Workers;
use paylet_api::{CardFields, Currency, GatewayStyle, Money, PaymentMethod, StoreId};
use paylet_sandbox::{Account, Sandbox, SandboxConfig};
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use tokio::net::TcpListener;

pub const SHOP_ORIGIN: &str = "https://shop.example";
/// The test servers' master key (secrets in test databases are sealed with it).
pub const MASTER_KEY: &str = "EXpyZ0zZsOieH+xdBA+/7wLWbXkkPTzhP8IyrEd+SD0=";
pub const STYLES: [GatewayStyle; 2] = [GatewayStyle::Stripe, GatewayStyle::Square];

/// A server, its database and a sandbox gateway, all on fresh ports.
pub struct TestApp {
    pub base: String,
    pub sandbox_base: String,
    pub sandbox: Sandbox,
    pub account: Account,
    pub style: GatewayStyle,
    pub store: StoreId,
    /// `Bearer` credential for the store's admin API.
    pub admin_key: String,
    pub db: Db,
    pub state: AppState,
    pub database_url: String,
    pub http: reqwest::Client,
    /// The shopper's browser on the gateway's pages: redirects are looked at, not followed.
    pub browser: reqwest::Client,
    pub dir: tempfile::TempDir,
    workers: Option<Workers>,
}

/// The catalog every test store starts with: (sku, name, cents).
pub const PRODUCTS: [(&str, &str, i64); 2] = [("TEE", "Tee", 2500), ("MUG", "Mug", 1800)];

/// Quick retries, so tests see redelivery in milliseconds.
fn fast_retries() -> Vec<Duration> {
    [50, 100, 200, 400, 800, 1600].into_iter().map(Duration::from_millis).collect()
}

/// The database at `url`, with the test master key.
pub async fn connect(url: &str) -> Db {
    Db::connect(url).await.unwrap().with_keys(paylet_secret::KeyRing::parse(MASTER_KEY).unwrap())
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(GatewayStyle::Stripe, |_| {}).await
}

/// A test app whose store uses `style`, with its settings adjusted by `adjust`.
pub async fn spawn_app_with(style: GatewayStyle, adjust: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_behind(style, adjust, None).await
}

/// Like [`spawn_app_with`], with the gateway's webhooks registered at
/// `webhook_base` (a relay in front of the server) instead of the server.
pub async fn spawn_app_behind(
    style: GatewayStyle,
    adjust: impl FnOnce(&mut Settings),
    webhook_base: Option<&str>,
) -> TestApp {
    // `RUST_LOG=paylet=debug cargo test …` shows the server's logs.
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
    }
    let dir = tempfile::tempdir().unwrap();
    let database_url = database_url(&dir).await;
    let db = connect(&database_url).await;
    db.migrate().await.unwrap();

    let config = SandboxConfig { retry_schedule: fast_retries(), ..SandboxConfig::default() };
    let sandbox = Sandbox::with_config(config).unwrap();
    let account = sandbox.create_account();
    let sandbox_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sandbox_base = format!("http://{}", sandbox_listener.local_addr().unwrap());
    tokio::spawn(sandbox.clone().serve(sandbox_listener, pending()));

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mut settings = Settings::new(&base);
    settings.gateway_timeout = Duration::from_secs(5);
    settings.notification_retries = fast_retries();
    // Every test client is 127.0.0.1 and many tests make many orders; the
    // tests of the limits set their own.
    settings.limits = paylet::limits::Limits::OFF;
    // Every receiver and gateway of these tests is http on 127.0.0.1; the
    // tests of the refusals set the strict default.
    settings.url_rules = UrlRules::OPEN;
    adjust(&mut settings);
    let widget_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../widget/dist");
    let state = paylet::state(db.clone(), ServeOptions { widget_dir, settings });

    let usd = Currency::parse("USD").unwrap();
    let (public_key, secret_key) = match style {
        GatewayStyle::Stripe => (account.publishable_key.clone(), account.secret_key.clone()),
        GatewayStyle::Square => (account.application_id.clone(), account.access_token.clone()),
    };
    let mut new = Store {
        id: paylet::ids::new_store_id(),
        name: "Test Store".into(),
        currency: usd,
        payment_methods: vec![PaymentMethod::Card, PaymentMethod::Hosted],
        allowed_origins: vec![SHOP_ORIGIN.into()],
        gateway: GatewaySettings {
            style,
            api_base: sandbox_base.clone(),
            public_key,
            secret_key,
            location_id: Some(account.location_id.clone()),
            card_fields: CardFields::Paylet,
        },
        webhook: WebhookSettings::default(),
        notify: None,
    };
    // The fixture's own store is made whatever the server's rules.
    new.register_webhook(&state.http, webhook_base.unwrap_or(&base), UrlRules::OPEN).await.unwrap();
    let store = stores::put(&db, new, UrlRules::OPEN).await.unwrap();
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

    tokio::spawn(paylet::serve(listener, paylet::app(state.clone(), None), pending()));
    let workers = paylet::workers(&state);

    TestApp {
        base,
        sandbox_base,
        sandbox,
        account,
        style,
        store: store.id,
        admin_key,
        db,
        state,
        database_url,
        http: reqwest::Client::new(),
        browser: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap(),
        dir,
        workers: Some(workers),
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
        self.second_instance().await.0
    }

    /// A second instance with its own database connections and state: its
    /// base URL and state (workers not started).
    pub async fn second_instance(&self) -> (String, AppState) {
        let db = connect(&self.database_url).await;
        let widget_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../widget/dist");
        let settings = (*self.state.settings).clone();
        let state = paylet::state(db, ServeOptions { widget_dir, settings });
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(paylet::serve(listener, paylet::app(state.clone(), None), pending()));
        (base, state)
    }

    /// Stops this instance's background workers, as a crash would.
    pub fn stop_workers(&mut self) {
        self.workers = None;
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

    /// A browser's CSP report to `path`, from `client` (one bound to a source
    /// address, or `self.http`), as browsers send it; the status and body.
    pub async fn csp_report(&self, client: &reqwest::Client, path: &str, report: &Value) -> (u16, Value) {
        let request = client.post(self.url(path)).header("content-type", "application/csp-report");
        let response = request.body(report.to_string()).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn admin_get(&self, path: &str) -> (u16, Value) {
        self.admin(reqwest::Method::GET, path, None).await
    }

    pub async fn admin_post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.admin(reqwest::Method::POST, path, Some(body)).await
    }

    /// Switches the store to the gateway's own card fields, as its admin would.
    pub async fn use_gateway_card_fields(&self) {
        let change = json!({ "card_fields": "gateway" });
        let (status, body) = self.admin(reqwest::Method::PATCH, "/v1/admin/store", Some(&change)).await;
        assert_eq!(status, 200, "{body}");
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
    /// exit success, stdout and stderr. Awaited, not blocking: the CLI may
    /// call the sandbox, which runs on this test's runtime.
    /// A second store on the same server, with its own admin key.
    pub async fn other_store(&self) -> (String, String) {
        let (ok, out, err) = self
            .cli(&[
                "store",
                "create",
                "--name",
                "Other",
                "--origin",
                "https://other.example",
                "--currency",
                "USD",
                "--gateway",
                "stripe",
                "--gateway-url",
                &self.sandbox_base,
                "--public-key",
                "pk_x",
                "--secret-key",
                "sk_x",
                "--no-webhook",
                "--json",
            ])
            .await;
        assert!(ok, "{err}");
        let created: Value = serde_json::from_str(&out).unwrap();
        (created["store_id"].as_str().unwrap().to_owned(), created["admin_key"].as_str().unwrap().to_owned())
    }

    pub async fn cli(&self, args: &[&str]) -> (bool, String, String) {
        self.cli_with_keys(args, Some(MASTER_KEY)).await
    }

    /// A sandbox API answer, as the merchant's account sees it.
    pub async fn sandbox_get(&self, path: &str, token: &str) -> Value {
        let answer = self.http.get(format!("{}{path}", self.sandbox_base)).bearer_auth(token).send().await.unwrap();
        answer.json().await.unwrap()
    }

    /// `paylet` with these master keys in `PAYLET_MASTER_KEY` (or none),
    /// allowing http and private URLs as the test receivers need.
    pub async fn cli_with_keys(&self, args: &[&str], keys: Option<&str>) -> (bool, String, String) {
        self.run_cli(args, keys, UrlRules::OPEN).await
    }

    /// `paylet` with the strict default: https URLs to public addresses only.
    pub async fn cli_strict(&self, args: &[&str]) -> (bool, String, String) {
        self.run_cli(args, Some(MASTER_KEY), UrlRules::default()).await
    }

    async fn run_cli(&self, args: &[&str], keys: Option<&str>, rules: UrlRules) -> (bool, String, String) {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_paylet"));
        match keys {
            Some(keys) => command.env("PAYLET_MASTER_KEY", keys),
            None => command.env_remove("PAYLET_MASTER_KEY"),
        };
        for (variable, allowed) in
            [("PAYLET_ALLOW_HTTP_URLS", rules.http), ("PAYLET_ALLOW_PRIVATE_NOTIFY_URLS", rules.private_addresses)]
        {
            match allowed {
                true => command.env(variable, "true"),
                false => command.env_remove(variable),
            };
        }
        let out = command
            .args(args)
            .env("PAYLET_DATABASE_URL", &self.database_url)
            .env("PAYLET_PUBLIC_URL", &self.base)
            // Tests run side by side: one metrics port would be taken twice.
            .env("PAYLET_METRICS_LISTEN", "off")
            .env("RUST_LOG", "warn")
            .current_dir(self.dir.path())
            .output()
            .await
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

    /// Tokenizes a card at the sandbox with the store's public key, as the
    /// widget does from the browser.
    pub async fn tokenize(&self, number: &str) -> String {
        let (http, base, account) = (&self.http, &self.sandbox_base, &self.account);
        paylet_sandbox::testing::browser_token(http, base, account, self.style, number).await.unwrap()
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

    pub async fn confirm(&self, order: &Value, verification_token: Option<&str>) -> (u16, Value) {
        let body = json!({ "client_secret": order["client_secret"], "verification_token": verification_token });
        self.post_json(&format!("/v1/orders/{}/payments/confirm", order["id"].as_str().unwrap()), &body).await
    }

    /// The shopper passes or fails the 3-D Secure page at `redirect_url`;
    /// returns the query the gateway sends them back to the widget with.
    pub async fn challenge(&self, redirect_url: &str, pass: bool) -> Vec<(String, String)> {
        let url = reqwest::Url::parse(redirect_url).unwrap();
        let page = self.browser.get(url.clone()).send().await.unwrap();
        assert!(page.status().is_success(), "challenge page: {}", page.status());
        let mut form: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        form.push(("action".into(), if pass { "complete" } else { "fail" }.into()));
        let mut post = url.clone();
        post.set_query(None);
        let answer = self.browser.post(post).form(&form).send().await.unwrap();
        let back = answer.headers()["location"].to_str().unwrap().to_owned();
        assert!(back.starts_with(&self.url("/widget/return?order=")), "{back}");
        reqwest::Url::parse(&back).unwrap().query_pairs().into_owned().collect()
    }

    /// The gateway's hosted page for the order, as the widget asks for it.
    pub async fn hosted_page(&self, order: &Value) -> String {
        let body = json!({ "client_secret": order["client_secret"], "return_url": format!("{SHOP_ORIGIN}/checkout") });
        let (status, page) =
            self.post_json(&format!("/v1/orders/{}/hosted-session", order["id"].as_str().unwrap()), &body).await;
        assert_eq!(status, 200, "{page}");
        page["url"].as_str().unwrap().to_owned()
    }

    /// The shopper pays on the hosted page; returns where the gateway sends them.
    pub async fn pay_on_hosted_page(&self, url: &str, number: &str) -> String {
        let page = self.browser.get(url).send().await.unwrap();
        assert!(page.status().is_success(), "hosted page: {}", page.status());
        let form = [("email", "ada@example.com"), ("number", number), ("expiry", "12 / 34"), ("cvc", "123")];
        let paid = self.browser.post(url).form(&form).send().await.unwrap();
        paid.headers().get("location").map(|l| l.to_str().unwrap().to_owned()).unwrap_or_default()
    }

    /// The order's status after the shopper's return, asking the gateway.
    pub async fn refreshed_status(&self, order: &Value) -> String {
        let secret = order["client_secret"].as_str().unwrap();
        let path = format!("/v1/orders/{}?client_secret={secret}&refresh=true", order["id"].as_str().unwrap());
        let (status, body) = self.get(&path).await;
        assert_eq!(status, 200, "{body}");
        body["status"].as_str().unwrap().to_owned()
    }

    /// Money taken at the gateway: one entry per payment that succeeded.
    pub fn payments_taken(&self) -> usize {
        self.sandbox.succeeded_payments(&self.account.id).len()
    }

    /// Waits (up to 10 s) until the sandbox has no webhook left to send.
    pub async fn webhooks_settled(&self) {
        let url = format!("{}/_sandbox/deliveries?account={}", self.sandbox_base, self.account.id);
        for _ in 0..200 {
            let deliveries: Value = self.http.get(&url).send().await.unwrap().json().await.unwrap();
            if deliveries["pending"] == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let failed: Vec<_> = self.sandbox.deliveries().into_iter().filter(|d| d.outcome == "failed").collect();
        panic!("the sandbox still has webhooks to deliver; failed attempts: {failed:?}");
    }

    /// How many charge requests the sandbox received (retries included).
    pub fn charges_at_gateway(&self) -> usize {
        let path = match self.style {
            GatewayStyle::Stripe => "/v1/payment_intents",
            GatewayStyle::Square => "/v2/payments",
        };
        self.sandbox.request_log().iter().filter(|r| r.method == "POST" && r.path == path).count()
    }

    /// The order's full record, as the merchant's admin API shows it.
    pub async fn detail(&self, order: &Value) -> Value {
        let (status, detail) = self.admin_get(&format!("/v1/admin/orders/{}", order["id"].as_str().unwrap())).await;
        assert_eq!(status, 200, "{detail}");
        detail
    }

    /// Faults to inject at the sandbox for this account.
    pub async fn faults(&self, faults: Value) {
        let url = format!("{}/_sandbox/accounts/{}/faults", self.sandbox_base, self.account.id);
        assert!(self.http.put(url).json(&faults).send().await.unwrap().status().is_success());
    }

    /// Waits (up to 10 s) until `check` holds of the order's admin record.
    pub async fn eventually(&self, order: &Value, what: &str, check: impl Fn(&Value) -> bool) -> Value {
        for _ in 0..200 {
            let detail = self.detail(order).await;
            if check(&detail) {
                return detail;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{what}: never happened; the order is {}", self.detail(order).await);
    }
}

/// How many entries of `kind` the order's history has whose detail contains `detail`.
pub fn history(order_detail: &Value, kind: &str, detail: &str) -> usize {
    let entries = order_detail["history"].as_array().unwrap();
    entries.iter().filter(|h| h["kind"] == kind && h["detail"].as_str().unwrap().contains(detail)).count()
}

/// Asserts the JSON error shape and returns its `error` object.
pub fn error<'a>(body: &'a Value, code: &str) -> &'a Value {
    let error = &body["error"];
    assert_eq!(error["code"], code, "{body}");
    assert!(error["type"].is_string(), "{body}");
    assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    error
}

/// An HTTP endpoint that keeps what it receives and fails the first
/// `fail_first` requests with a 503, like a merchant's server having a bad
/// minute.
pub struct Receiver {
    pub url: String,
    received: Arc<Mutex<Vec<(HeaderMap, String)>>>,
    pub attempts: Arc<AtomicUsize>,
}

impl Receiver {
    pub async fn start(fail_first: usize) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        Receiver::on(listener, fail_first)
    }

    /// Serves on `listener` (bound earlier, to know its address in advance).
    pub fn on(listener: TcpListener, fail_first: usize) -> Receiver {
        let url = format!("http://{}/hooks", listener.local_addr().unwrap());
        let received = Arc::new(Mutex::new(Vec::new()));
        let attempts = Arc::new(AtomicUsize::new(0));
        let (keep, count) = (received.clone(), attempts.clone());
        let app = axum::Router::new().route(
            "/hooks",
            axum::routing::post(move |headers: HeaderMap, body: String| async move {
                if count.fetch_add(1, Ordering::SeqCst) < fail_first {
                    return axum::http::StatusCode::SERVICE_UNAVAILABLE;
                }
                keep.lock().unwrap().push((headers, body));
                axum::http::StatusCode::NO_CONTENT
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver { url, received, attempts }
    }

    pub fn received(&self) -> Vec<(HeaderMap, String)> {
        self.received.lock().unwrap().clone()
    }

    /// Waits (up to 10 s) until `n` messages were received.
    pub async fn wait_for(&self, n: usize) -> Vec<(HeaderMap, String)> {
        for _ in 0..200 {
            if self.received().len() >= n {
                return self.received();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("expected {n} messages, got {}", self.received().len());
    }
}

/// The text of each script the page runs from its own markup.
pub fn inline_scripts(page: &str) -> Vec<&str> {
    page.split("<script")
        .skip(1)
        .filter_map(|rest| rest.split_once('>'))
        .filter(|(tag, _)| !tag.contains("src=") && !tag.contains("application/json"))
        .map(|(_, body)| body.split("</script>").next().unwrap())
        .collect()
}

/// `sha384-…`: an SRI hash, as integrity attributes and CSP hash sources name it.
pub fn sha384(bytes: &[u8]) -> String {
    use base64::Engine;
    use sha2::Digest;
    format!("sha384-{}", base64::engine::general_purpose::STANDARD.encode(sha2::Sha384::digest(bytes)))
}

/// The JavaScript modules wasm-bindgen emitted for the widget's own JS
/// (`widget/dist/snippets/…`), which its start-up module imports: their
/// paths under `/widget/`.
pub fn snippet_modules() -> Vec<String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../widget/dist");
    let mut found = Vec::new();
    let mut dirs = vec![root.join("snippets")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "js") {
                found.push(path.strip_prefix(&root).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    found
}
