//! Secrets at rest: what a stolen database holds, and rotating the master key.

use paylet::stores;
use paylet_secret::KeyRing;

use crate::helpers::{MASTER_KEY, TestApp, spawn_app};

const SEALED: &str = "SELECT gateway_secret_key, webhook_secret, webhook_secret_previous, notify_secret FROM stores";

#[tokio::test]
async fn a_stolen_database_holds_no_gateway_key_or_webhook_secret() {
    let app = spawn_app().await;
    let out = notify_on(&app).await;
    // A second webhook secret, so the previous one is kept (sealed) too.
    let (ok, _, err) = app.cli(&["store", "webhook", "--store", app.store.as_str()]).await;
    assert!(ok, "{err}");

    let store = stores::find(&app.db, &app.store).await.unwrap();
    let mut secrets = vec![store.gateway.secret_key.expose().clone(), store.notify.unwrap().secret.expose().clone()];
    secrets.extend(store.webhook.secret.map(|s| s.expose().clone()));
    secrets.extend(store.webhook.previous.map(|(s, _)| s.expose().clone()));
    assert_eq!(secrets.len(), 4, "the store has every kind of secret");
    assert!(out.contains(&secrets[1]), "the notification secret is shown once, to the merchant");

    let rows: Vec<(String, String, String, String)> = sqlx::query_as(SEALED).fetch_all(app.db.reader()).await.unwrap();
    let (gateway, webhook, previous, notify) = &rows[0];
    for stored in [gateway, webhook, previous, notify] {
        assert!(stored.starts_with("paylet-sealed:v1:"), "{stored}");
        assert!(secrets.iter().all(|s| !stored.contains(s.as_str())));
    }
    if let Some(path) = app.database_url.strip_prefix("sqlite://") {
        // The file as a thief would copy it: the database and its write-ahead log.
        let mut bytes = std::fs::read(path).unwrap();
        bytes.extend(std::fs::read(format!("{path}-wal")).unwrap_or_default());
        for secret in &secrets {
            assert!(!contains(&bytes, secret.as_bytes()), "a secret is in the database file in the clear");
        }
        assert!(contains(&bytes, b"paylet-sealed:v1:"), "the file holds the sealed values");
    }
}

#[tokio::test]
async fn rotating_the_master_key_reseals_every_secret_and_the_old_key_is_then_useless() {
    let app = spawn_app().await;
    notify_on(&app).await;
    let before = stores::find(&app.db, &app.store).await.unwrap();
    let snippet = ["snippet", "--store", app.store.as_str()];

    let (ok, _, err) = app.cli_with_keys(&snippet, None).await;
    assert!(!ok && err.contains("PAYLET_MASTER_KEY"), "without the key the stores cannot be read: {err}");

    let new_key = KeyRing::generate();
    let new_key = new_key.expose();
    let (ok, _, err) = app.cli_with_keys(&snippet, Some(new_key)).await;
    assert!(!ok && err.contains("not in the key ring"), "{err}");

    let both = format!("{new_key}\n{MASTER_KEY}");
    let (ok, out, err) = app.cli_with_keys(&["keys", "rotate"], Some(&both)).await;
    assert!(ok, "{err}");
    let new_id = KeyRing::parse(new_key).unwrap().current_id().to_owned();
    assert_eq!(out.trim(), format!("3 secrets sealed anew with key {new_id}"));
    let (ok, out, _) = app.cli_with_keys(&["keys", "rotate"], Some(&both)).await;
    assert!(ok && out.starts_with("0 secrets"), "a second run has nothing left to do: {out}");

    let (ok, _, err) = app.cli_with_keys(&snippet, Some(new_key)).await;
    assert!(ok, "the new key alone opens every secret: {err}");
    let (ok, _, err) = app.cli_with_keys(&snippet, Some(MASTER_KEY)).await;
    assert!(!ok && err.contains("not in the key ring"), "the old key opens nothing: {err}");

    let rotated = app.db.clone().with_keys(KeyRing::parse(new_key).unwrap());
    let after = stores::find(&rotated, &app.store).await.unwrap();
    assert_eq!(after.gateway.secret_key.expose(), before.gateway.secret_key.expose());
    assert_eq!(after.webhook.secret.unwrap().expose(), before.webhook.secret.unwrap().expose());
    assert_eq!(after.notify.unwrap().secret.expose(), before.notify.unwrap().secret.expose());
}

#[tokio::test]
async fn a_sealed_secret_copied_to_another_store_does_not_open() {
    let app = spawn_app().await;
    let (other, _) = app.other_store().await;
    // A thief with write access moves this store's sealed key into their own store.
    sqlx::query(
        "UPDATE stores SET gateway_secret_key = (SELECT gateway_secret_key FROM stores WHERE id = $1) WHERE id = $2",
    )
    .bind(app.store.as_str())
    .bind(&other)
    .execute(app.db.writer())
    .await
    .unwrap();
    let (ok, _, err) = app.cli(&["snippet", "--store", &other]).await;
    assert!(!ok && err.contains("does not open"), "{err}");
}

#[tokio::test]
async fn serve_refuses_to_start_without_keys_that_open_the_secrets() {
    let app = spawn_app().await;
    let serve = ["serve", "--listen", "127.0.0.1:0"];
    let (ok, _, err) = app.cli_with_keys(&serve, None).await;
    assert!(!ok && err.contains("PAYLET_MASTER_KEY"), "{err}");
    let other = KeyRing::generate();
    let (ok, _, err) = app.cli_with_keys(&serve, Some(other.expose())).await;
    assert!(!ok && err.contains("not in the key ring"), "{err}");
}

/// Turns the store's notifications on (a third kind of secret); what the CLI printed.
async fn notify_on(app: &TestApp) -> String {
    let (ok, out, err) =
        app.cli(&["store", "notify", "--store", app.store.as_str(), "--url", "https://shop.example/events"]).await;
    assert!(ok, "{err}");
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn a_stolen_database_holds_no_client_secret_or_admin_key_issued() {
    let app = spawn_app().await;
    let mut issued = vec![app.admin_key.clone()];
    // Orders as the widget places them, under an Idempotency-Key (whose
    // stored answer is the order with its client secret), and without one.
    for key in [Some("order-key-1"), Some("order-key-2"), None] {
        let body = serde_json::json!({ "items": [{ "sku": "TEE", "quantity": 1 }], "customer": { "email": "ada@example.com" } });
        let mut request = app.http.post(app.url(&format!("/v1/stores/{}/orders", app.store))).json(&body);
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        let order: serde_json::Value = request.send().await.unwrap().json().await.unwrap();
        issued.push(order["client_secret"].as_str().unwrap().to_owned());
    }
    // A replay still answers with the same secret.
    let body =
        serde_json::json!({ "items": [{ "sku": "TEE", "quantity": 1 }], "customer": { "email": "ada@example.com" } });
    let replay = app.http.post(app.url(&format!("/v1/stores/{}/orders", app.store)));
    let replay: serde_json::Value =
        replay.header("idempotency-key", "order-key-1").json(&body).send().await.unwrap().json().await.unwrap();
    assert_eq!(replay["client_secret"], issued[1].as_str());
    let out = notify_on(&app).await;
    issued.extend(out.split_whitespace().filter(|w| w.starts_with("whsec_")).map(str::to_owned));

    let everything = database_as_text(&app).await;
    for secret in &issued {
        assert!(!everything.contains(secret.as_str()), "an issued secret is stored in the clear");
    }
}

/// Every row of every table as text, and on SQLite the file and its
/// write-ahead log as a thief would copy them.
async fn database_as_text(app: &TestApp) -> String {
    if let Some(path) = app.database_url.strip_prefix("sqlite://") {
        let mut bytes = std::fs::read(path).unwrap();
        bytes.extend(std::fs::read(format!("{path}-wal")).unwrap_or_default());
        return String::from_utf8_lossy(&bytes).into_owned();
    }
    let tables: Vec<String> = sqlx::query_scalar("SELECT tablename::text FROM pg_tables WHERE schemaname = 'public'")
        .fetch_all(app.db.reader())
        .await
        .unwrap();
    let mut text = String::new();
    for table in tables {
        let sql = format!("SELECT COALESCE(string_agg(t::text, ' '), '') FROM {table} t");
        text.push_str(&sqlx::query_scalar::<_, String>(&sql).fetch_one(app.db.reader()).await.unwrap());
    }
    text
}
