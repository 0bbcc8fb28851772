//! The `paylet` command line, against the same database the server uses.

use serde_json::Value;

use crate::helpers::{MASTER_KEY, TestApp, spawn_app};

async fn json(app: &TestApp, args: &[&str]) -> Value {
    let (ok, out, err) = app.cli(args).await;
    assert!(ok, "paylet {args:?} failed: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

#[tokio::test]
async fn store_create_prints_id_key_and_snippet_and_the_key_works() {
    let app = spawn_app().await;
    let created = json(
        &app,
        &[
            "store",
            "create",
            "--name",
            "Cli Shop",
            "--origin",
            "https://cli.example",
            "--origin",
            "https://www.cli.example",
            "--currency",
            "eur",
            "--gateway",
            "stripe",
            "--gateway-url",
            &app.sandbox_base,
            "--public-key",
            &app.account.publishable_key,
            "--secret-key",
            app.account.secret_key.expose(),
            "--payment-methods",
            "card,hosted",
            "--notify-url",
            "https://cli.example/paylet-events",
            "--json",
        ],
    )
    .await;
    let store = created["store_id"].as_str().unwrap();
    // The gateway now sends this store's events to this server, signed with a
    // secret only the two of them hold; the merchant's own endpoint got one too.
    let webhook = format!("{}/v1/webhooks/{store}/stripe", app.base);
    assert_eq!(created["webhook_url"], webhook.as_str());
    let endpoints = app.sandbox_get("/v1/webhook_endpoints", app.account.secret_key.expose()).await;
    assert!(endpoints["data"].as_array().unwrap().iter().any(|e| e["url"] == webhook.as_str()), "{endpoints}");
    assert!(created["notify_secret"].as_str().unwrap().starts_with("whsec_"));
    let key = created["admin_key"].as_str().unwrap();
    let snippet = created["snippet"].as_str().unwrap();
    assert!(snippet.contains(&format!(r#"data-paylet-store="{store}""#)));
    assert!(snippet.contains("/embed.js"));

    let (status, body) = app.admin_as(key, reqwest::Method::GET, "/v1/admin/store", None).await;
    assert_eq!(status, 200);
    assert_eq!(body["currency"], "EUR");
    assert_eq!(body["payment_methods"], serde_json::json!(["card", "hosted"]));
    assert_eq!(body["allowed_origins"].as_array().unwrap().len(), 2);
    // On the sandbox (no real gateway's API) the card is typed into Paylet's fields.
    assert_eq!(body["gateway"]["card_fields"], "paylet");
    let (ok, out, err) = app.cli(&["store", "card-fields", "--store", store, "gateway"]).await;
    assert!(ok && out.contains("gateway"), "{out}{err}");
    let (_, body) = app.admin_as(key, reqwest::Method::GET, "/v1/admin/store", None).await;
    assert_eq!(body["gateway"]["card_fields"], "gateway");
    let (ok, _, err) = app.cli(&["store", "card-fields", "--store", store, "iframe"]).await;
    assert!(!ok && err.contains("gateway, paylet"), "{err}");

    let listed = json(&app, &["store", "list", "--json"]).await;
    assert!(listed["data"].as_array().unwrap().iter().any(|s| s["id"] == store));
    // The key is stored hashed: no admin key row holds it.
    let (ok, out, _) = app.cli(&["store", "list"]).await;
    assert!(ok && !out.contains(key));
    let hashes: Vec<String> = sqlx::query_scalar("SELECT key_hash FROM admin_keys WHERE store_id = $1")
        .bind(store)
        .fetch_all(app.db.reader())
        .await
        .unwrap();
    assert_eq!(hashes, vec![paylet::ids::sha256_hex(key)]);

    let (ok, _, err) = app
        .cli(&[
            "store",
            "create",
            "--name",
            "x",
            "--origin",
            "not-an-origin",
            "--currency",
            "USD",
            "--gateway",
            "stripe",
            "--public-key",
            "p",
            "--secret-key",
            "s",
        ])
        .await;
    assert!(!ok);
    assert!(err.contains("not an origin"), "{err}");
}

#[tokio::test]
async fn products_are_managed_from_the_command_line() {
    let app = spawn_app().await;
    let store = app.store.as_str();
    let (ok, out, err) =
        app.cli(&["product", "add", "--store", store, "--sku", "HAT", "--name", "Hat", "--price", "12.5"]).await;
    assert!(ok, "{err}");
    assert!(out.contains("12.50 USD"));
    let (ok, _, err) =
        app.cli(&["product", "add", "--store", store, "--sku", "HAT", "--name", "Hat", "--price", "1"]).await;
    assert!(!ok);
    assert!(err.contains("exists"), "{err}");
    let (ok, _, err) =
        app.cli(&["product", "add", "--store", store, "--sku", "BAD", "--name", "x", "--price", "1.005"]).await;
    assert!(!ok, "three decimals in USD are refused: {err}");
    let (ok, _, err) =
        app.cli(&["product", "update", "--store", store, "--sku", "HAT", "--price", "13", "--active", "false"]).await;
    assert!(ok, "{err}");
    let products = json(&app, &["product", "list", "--store", store, "--json"]).await;
    let hat = products["data"].as_array().unwrap().iter().find(|p| p["sku"] == "HAT").unwrap().clone();
    assert_eq!(hat["price"]["amount"], 1300);
    assert_eq!(hat["active"], false);
    let (_, config) = app.get(&format!("/v1/stores/{store}/checkout-config")).await;
    let skus: Vec<&str> = config["catalog"].as_array().unwrap().iter().map(|p| p["sku"].as_str().unwrap()).collect();
    assert_eq!(skus, ["MUG", "TEE"], "{config}");
}

#[tokio::test]
async fn orders_list_and_snippet_and_migrate() {
    let app = spawn_app().await;
    let order = app.order().await;
    let listed = json(&app, &["orders", "list", "--store", app.store.as_str(), "--json"]).await;
    assert_eq!(listed["data"][0]["id"], order["id"]);
    let pending = json(&app, &["orders", "list", "--store", app.store.as_str(), "--status", "paid", "--json"]).await;
    assert_eq!(pending["data"], serde_json::json!([]));

    let (ok, out, _) = app
        .cli(&["snippet", "--store", app.store.as_str(), "--items", "TEE:2", "--public-url", "https://pay.example"])
        .await;
    assert!(ok);
    let src = format!(r#"<script src="https://pay.example/embed/v{}/embed.js""#, env!("CARGO_PKG_VERSION"));
    assert!(out.contains(&src), "{out}");
    assert!(out.contains(r#"data-items="TEE:2""#));
    let (ok, out, _) = app.cli(&["snippet", "--store", app.store.as_str(), "--checkout-session", "cs_abc"]).await;
    assert!(ok);
    assert!(out.contains(r#"data-session="cs_abc""#) && !out.contains("data-items"), "{out}");

    let (ok, out, _) = app.cli(&["migrate"]).await;
    assert!(ok && out.contains("migrations applied"));
    let (ok, _, err) = app.cli(&["orders", "list", "--store", "nope"]).await;
    assert!(!ok && err.contains("not a store id"));
}

#[tokio::test]
async fn settings_come_from_flags_then_environment_then_paylet_toml() {
    let app = spawn_app().await;
    std::fs::write(app.dir.path().join("paylet.toml"), "database_url = \"sqlite://from-toml.db\"\n").unwrap();
    // The test helper sets PAYLET_DATABASE_URL, which beats the file.
    let from_env = json(&app, &["store", "list", "--json"]).await;
    assert_eq!(from_env["data"].as_array().unwrap().len(), 1);
    // Without the variable, the file decides.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_paylet"))
        .args(["store", "list", "--json"])
        .env_remove("PAYLET_DATABASE_URL")
        .current_dir(app.dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed["data"], serde_json::json!([]));
    assert!(app.dir.path().join("from-toml.db").exists());
    // And a flag beats both.
    let flag = format!("sqlite://{}/from-flag.db", app.dir.path().display());
    let (ok, _, _) = app.cli(&["migrate", "--database-url", &flag]).await;
    assert!(ok && app.dir.path().join("from-flag.db").exists());

    std::fs::write(app.dir.path().join("paylet.toml"), "databse_url = \"typo\"\n").unwrap();
    let (ok, _, err) = app.cli(&["store", "list"]).await;
    assert!(!ok && err.contains("unknown field"), "{err}");

    let (_, help, _) = app.cli(&["serve", "--help"]).await;
    for documented in ["PAYLET_LISTEN", "PAYLET_DATABASE_URL", "PAYLET_WIDGET_DIR", "PAYLET_PUBLIC_URL", "paylet.toml"]
    {
        assert!(help.contains(documented), "serve --help mentions {documented}");
    }
}

#[tokio::test]
async fn a_snippet_names_the_https_url_serve_would_listen_on_with_tls() {
    let app = spawn_app().await;
    // No public URL anywhere: the snippet is for the listen address, with the
    // scheme `serve` would use given the file and the environment.
    let snippet = |toml: &str, tls_cert_env: Option<&str>| {
        std::fs::write(app.dir.path().join("paylet.toml"), format!("listen = \"127.0.0.1:8443\"\n{toml}")).unwrap();
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_paylet"));
        command
            .args(["snippet", "--store", app.store.as_str(), "--items", "TEE:1"])
            .env_remove("PAYLET_PUBLIC_URL")
            .env_remove("PAYLET_TLS_CERT")
            .env("PAYLET_DATABASE_URL", &app.database_url)
            .env("PAYLET_MASTER_KEY", MASTER_KEY)
            .current_dir(app.dir.path());
        if let Some(cert) = tls_cert_env {
            command.env("PAYLET_TLS_CERT", cert);
        }
        let out = command.output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let https = r#"src="https://127.0.0.1:8443/embed/"#;
    let from_file = snippet("tls_cert = \"cert.pem\"\ntls_key = \"key.pem\"\n", None);
    assert!(from_file.contains(https), "{from_file}");
    let from_env = snippet("", Some("cert.pem"));
    assert!(from_env.contains(https), "{from_env}");
    let plain = snippet("", None);
    assert!(plain.contains(r#"src="http://127.0.0.1:8443/embed/"#), "{plain}");
}

#[tokio::test]
async fn a_backup_taken_during_order_creation_restores_consistently() {
    let app = spawn_app().await;
    if app.database_url.starts_with("postgres") {
        let out = app.dir.path().join("pg.dump");
        let (ok, text, _) = app.cli(&["backup", "--out", out.to_str().unwrap()]).await;
        assert!(ok && text.contains("pg_dump --format=custom"), "{text}");
        return;
    }
    let backup = app.dir.path().join("backup.db");
    let url = app.url(&format!("/v1/stores/{}/orders", app.store));
    let mut writers = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let (http, url) = (app.http.clone(), url.clone());
        writers.spawn(async move {
            for _ in 0..40 {
                let body = serde_json::json!({ "items": [{ "sku": "TEE", "quantity": 2 }, { "sku": "MUG", "quantity": 1 }], "customer": { "email": "a@b.co" } });
                assert_eq!(http.post(&url).json(&body).send().await.unwrap().status(), 201);
            }
        });
    }
    // Back up while those run.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let (ok, out, err) = tokio::task::spawn_blocking({
        let (bin, db, path) = (env!("CARGO_BIN_EXE_paylet"), app.database_url.clone(), backup.clone());
        move || {
            let o = std::process::Command::new(bin)
                .args(["backup", "--out", path.to_str().unwrap()])
                .env("PAYLET_DATABASE_URL", db)
                .output()
                .unwrap();
            (
                o.status.success(),
                String::from_utf8_lossy(&o.stdout).into_owned(),
                String::from_utf8_lossy(&o.stderr).into_owned(),
            )
        }
    })
    .await
    .unwrap();
    assert!(ok, "{err}");
    assert!(out.contains("backup written"));
    writers.join_all().await;

    let restored_path = app.dir.path().join("restored.db");
    let restored_url = format!("sqlite://{}", restored_path.display());
    let (ok, _, err) = app.cli(&["restore", "--from", backup.to_str().unwrap(), "--database-url", &restored_url]).await;
    assert!(ok, "{err}");
    let (ok, _, err) = app.cli(&["restore", "--from", backup.to_str().unwrap(), "--database-url", &restored_url]).await;
    assert!(!ok && err.contains("--force"), "an existing database is not replaced silently");

    let restored = paylet::db::Db::connect(&restored_url).await.unwrap();
    let count = |sql: &'static str| {
        let restored = restored.clone();
        async move { sqlx::query_scalar::<_, i64>(sql).fetch_one(restored.reader()).await.unwrap() }
    };
    let orders = count("SELECT COUNT(*) FROM orders").await;
    assert!((1..=160).contains(&orders), "{orders} orders in the snapshot");
    assert_eq!(
        count("SELECT COUNT(*) FROM orders o WHERE (SELECT COUNT(*) FROM order_lines l WHERE l.order_id = o.id) <> 2")
            .await,
        0,
        "every order has both its lines"
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM orders o WHERE o.total_amount <> (SELECT SUM(l.total_amount) FROM order_lines l WHERE l.order_id = o.id)").await,
        0,
        "every total matches its lines"
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM order_history h WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.id = h.order_id)")
            .await,
        0
    );
}

#[tokio::test]
async fn store_webhook_and_notify_change_what_the_server_accepts_and_sends() {
    for style in crate::helpers::STYLES {
        let app = crate::helpers::spawn_app_with(style, |_| {}).await;
        let store = app.store.as_str();
        let old = paylet::stores::find(&app.db, &app.store).await.unwrap().webhook.secret.unwrap();

        // Registering again gets a new secret from the gateway; the old one stays good for the overlap.
        let (ok, out, err) = app.cli(&["store", "webhook", "--store", store, "--overlap", "1h"]).await;
        assert!(ok, "{style:?}: {err}");
        assert!(out.contains("accepted for 1h"), "{out}");
        let webhook = paylet::stores::find(&app.db, &app.store).await.unwrap().webhook;
        assert!(webhook.secret.as_ref().unwrap().expose() != old.expose(), "{style:?}: a new secret");
        assert_eq!(webhook.secrets(paylet::db::now_millis()).len(), 2, "{style:?}: both accepted meanwhile");
        // The replaced endpoint is gone from the gateway: one endpoint for this store.
        let (path, list, field) = match style {
            paylet_api::GatewayStyle::Stripe => ("/v1/webhook_endpoints", "data", "url"),
            paylet_api::GatewayStyle::Square => ("/v2/webhooks/subscriptions", "subscriptions", "notification_url"),
        };
        let token = match style {
            paylet_api::GatewayStyle::Stripe => app.account.secret_key.expose(),
            paylet_api::GatewayStyle::Square => app.account.access_token.expose(),
        };
        let listed = app.sandbox_get(path, token).await;
        let ours =
            listed[list].as_array().unwrap().iter().filter(|e| e[field].as_str().unwrap().contains(store)).count();
        assert_eq!(ours, 1, "{style:?}: {listed}");

        // A secret set by hand, with no overlap: only it is accepted.
        let (ok, _, err) =
            app.cli(&["store", "webhook", "--store", store, "--secret", "whsec_by_hand", "--overlap", "0s"]).await;
        assert!(ok, "{err}");
        let webhook = paylet::stores::find(&app.db, &app.store).await.unwrap().webhook;
        let secrets = webhook.secrets(paylet::db::now_millis());
        assert_eq!(secrets.iter().map(|s| s.expose().as_str()).collect::<Vec<_>>(), ["whsec_by_hand"]);

        let (ok, out, err) =
            app.cli(&["store", "notify", "--store", store, "--url", "https://shop.example/events"]).await;
        assert!(ok && out.contains("whsec_"), "{err}");
        let (_, view) = app.admin_get("/v1/admin/store").await;
        assert_eq!(view["notification_url"], "https://shop.example/events");
        let (ok, _, err) = app.cli(&["store", "notify", "--store", store, "--off"]).await;
        assert!(ok, "{err}");
        let (_, view) = app.admin_get("/v1/admin/store").await;
        assert!(view["notification_url"].is_null(), "{view}");
    }
}

/// What answers at a gateway URL that is no gateway: a plain-text 404 for
/// every path, as a web server or proxy without that endpoint gives.
async fn not_a_gateway() -> String {
    let app = axum::Router::new().fallback(|| async { (axum::http::StatusCode::NOT_FOUND, "404 page not found") });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

#[tokio::test]
async fn a_gateway_url_that_is_no_gateway_is_named_plainly_and_the_way_on_given() {
    let app = spawn_app().await;
    let url = not_a_gateway().await;
    let create = |extra: &[&'static str]| {
        let mut args = vec![
            "store",
            "create",
            "--name",
            "Wrong URL",
            "--origin",
            "https://shop.example",
            "--currency",
            "usd",
            "--gateway",
            "stripe",
            "--gateway-url",
            &url,
            "--public-key",
            "pk_test_x",
            "--secret-key",
            "sk_test_x",
        ];
        args.extend_from_slice(extra);
        args.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    let args = create(&[]);
    let (ok, _, err) = app.cli(&args.iter().map(String::as_str).collect::<Vec<_>>()).await;
    assert!(!ok);
    for says in ["/v1/webhook_endpoints", "HTTP 404", "--no-webhook"] {
        assert!(err.contains(says), "{says} missing: {err}");
    }
    assert!(!err.contains("invalid type"), "{err}");

    // With --no-webhook the store is made; paying there says what is wrong,
    // charges nothing, and leaves no attempt for reconciliation to retry.
    let args = create(&["--no-webhook", "--json"]);
    let created = json(&app, &args.iter().map(String::as_str).collect::<Vec<_>>()).await;
    let store = created["store_id"].as_str().unwrap();
    let product = ["product", "add", "--store", store, "--sku", "TEE", "--name", "Tee", "--price", "25.00"];
    let (ok, _, err) = app.cli(&product).await;
    assert!(ok, "{err}");
    let body =
        serde_json::json!({ "items": [{ "sku": "TEE", "quantity": 1 }], "customer": { "email": "ada@example.com" } });
    let (status, order) = app.post_json(&format!("/v1/stores/{store}/orders"), &body).await;
    assert_eq!(status, 201, "{order}");
    let id = order["id"].as_str().unwrap();
    let pay = serde_json::json!({ "client_secret": order["client_secret"], "token": "tok_visa" });
    let (status, body) = app.post_json(&format!("/v1/orders/{id}/payments"), &pay).await;
    assert_eq!(status, 502, "{body}");
    crate::helpers::error(&body, "gateway_misconfigured");
    let open: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM payment_attempts WHERE order_id = $1 AND status = 'processing'")
            .bind(id)
            .fetch_one(app.db.reader())
            .await
            .unwrap();
    assert_eq!(open, 0, "an attempt left for reconciliation to charge again");
}
