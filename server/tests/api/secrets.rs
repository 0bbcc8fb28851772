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
