//! Idempotency keys on order creation (and admin POSTs), on both backends.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error, spawn_app};

async fn create(app: &TestApp, key: &str, body: &Value) -> (StatusCode, Value, bool) {
    let response = app
        .http
        .post(app.url(&format!("/v1/stores/{}/orders", app.store)))
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await
        .unwrap();
    let replayed = response.headers().get("idempotent-replayed").is_some();
    (response.status(), response.json().await.unwrap(), replayed)
}

fn order_body(quantity: u32) -> Value {
    json!({ "items": [{ "sku": "TEE", "quantity": quantity }], "customer": { "email": "ada@example.com" } })
}

async fn order_count(app: &TestApp) -> usize {
    app.admin_get("/v1/admin/orders?limit=100").await.1["data"].as_array().unwrap().len()
}

#[tokio::test]
async fn the_same_key_and_body_replay_the_first_answer() {
    let app = spawn_app().await;
    let (s1, first, r1) = create(&app, "k-1", &order_body(1)).await;
    let (s2, again, r2) = create(&app, "k-1", &order_body(1)).await;
    assert_eq!((s1, s2), (StatusCode::CREATED, StatusCode::CREATED));
    assert_eq!((r1, r2), (false, true));
    assert_eq!(first, again, "the replay carries the same order and client secret");
    assert_eq!(order_count(&app).await, 1);
}

#[tokio::test]
async fn the_same_key_with_another_body_is_refused() {
    let app = spawn_app().await;
    create(&app, "k-1", &order_body(1)).await;
    let (status, body, _) = create(&app, "k-1", &order_body(2)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error(&body, "idempotency_key_reused")["type"], "idempotency_error");
    assert_eq!(order_count(&app).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_duplicates_create_one_order() {
    let app = spawn_app().await;
    let url = app.url(&format!("/v1/stores/{}/orders", app.store));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let (http, url, body) = (app.http.clone(), url.clone(), order_body(1));
        tasks.spawn(async move {
            let r = http.post(url).header("Idempotency-Key", "same-key").json(&body).send().await.unwrap();
            (r.status(), r.json::<Value>().await.unwrap())
        });
    }
    let results = tasks.join_all().await;
    let ids: Vec<&Value> = results.iter().filter(|r| r.0 == StatusCode::CREATED).map(|r| &r.1["id"]).collect();
    assert!(!ids.is_empty());
    assert!(ids.iter().all(|id| *id == ids[0]), "every success is the same order");
    for (status, body) in &results {
        if *status != StatusCode::CREATED {
            assert_eq!(*status, StatusCode::CONFLICT, "{body}");
            error(body, "idempotency_key_in_use");
        }
    }
    assert_eq!(order_count(&app).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_duplicates_across_two_servers_create_one_order() {
    let app = spawn_app().await;
    let second = app.second_server().await;
    let path = format!("/v1/stores/{}/orders", app.store);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..16 {
        let url = if i % 2 == 0 { app.url(&path) } else { format!("{second}{path}") };
        let (http, body) = (app.http.clone(), order_body(1));
        tasks.spawn(async move {
            let r = http.post(url).header("Idempotency-Key", "shared").json(&body).send().await.unwrap();
            (r.status(), r.json::<Value>().await.unwrap())
        });
    }
    let results = tasks.join_all().await;
    let created: Vec<&Value> = results.iter().filter(|r| r.0 == StatusCode::CREATED).map(|r| &r.1).collect();
    assert!(!created.is_empty());
    assert!(created.iter().all(|o| o["id"] == created[0]["id"]), "every success is the same order");
    for (status, body) in &results {
        if *status != StatusCode::CREATED {
            assert_eq!(*status, StatusCode::CONFLICT, "{body}");
            error(body, "idempotency_key_in_use");
        }
    }
    assert_eq!(order_count(&app).await, 1);
}

#[tokio::test]
async fn a_claim_whose_request_died_is_taken_over_after_a_minute() {
    let app = spawn_app().await;
    let session = json!({ "line_items": [{ "name": "Gift", "quantity": 1, "unit_amount": 500 }] });
    let post = || {
        app.http
            .post(app.url("/v1/admin/checkout-sessions"))
            .bearer_auth(&app.admin_key)
            .header("Idempotency-Key", "s-1")
            .json(&session)
            .send()
    };
    let first: Value = post().await.unwrap().json().await.unwrap();
    // As if another process had claimed the key and was still working, then died.
    let claim = |age_ms: i64| {
        sqlx::query(
            "UPDATE idempotency_keys SET response_status = NULL, response_body = NULL, locked_at = $1 \
             WHERE idempotency_key = 's-1'",
        )
        .bind(paylet::db::now_millis() - age_ms)
        .execute(app.db.writer())
    };
    claim(1_000).await.unwrap();
    let busy = post().await.unwrap();
    assert_eq!(busy.status(), StatusCode::CONFLICT);
    error(&busy.json().await.unwrap(), "idempotency_key_in_use");

    claim(61_000).await.unwrap();
    let retried = post().await.unwrap();
    assert_eq!(retried.status(), StatusCode::CREATED);
    assert!(retried.headers().get("idempotent-replayed").is_none(), "the work ran again");
    let retried: Value = retried.json().await.unwrap();
    assert_ne!(retried["id"], first["id"]);
    // And its answer is now the stored one.
    let replayed: Value = post().await.unwrap().json().await.unwrap();
    assert_eq!(replayed["id"], retried["id"]);
}

#[tokio::test]
async fn keys_belong_to_one_store_and_failures_free_them() {
    let app = spawn_app().await;
    // A request refused before doing anything leaves the key free.
    let (status, _, _) = create(&app, "k-2", &order_body(0)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _, _) = create(&app, "k-2", &order_body(1)).await;
    assert_eq!(status, StatusCode::CREATED);

    let (status, body, _) = create(&app, &"k".repeat(256), &order_body(1)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    error(&body, "invalid_idempotency_key");
}

#[tokio::test]
async fn keys_expire_after_24_hours() {
    let app = spawn_app().await;
    create(&app, "old", &order_body(1)).await;
    sqlx::query("UPDATE idempotency_keys SET created_at = created_at - 90000000")
        .execute(app.db.writer())
        .await
        .unwrap();
    let (status, _, replayed) = create(&app, "old", &order_body(2)).await;
    assert_eq!((status, replayed), (StatusCode::CREATED, false));
    assert_eq!(order_count(&app).await, 2);
    assert_eq!(paylet::idempotency::expire(&app.db).await.unwrap(), 0, "the renewed key is fresh");
    sqlx::query("UPDATE idempotency_keys SET created_at = created_at - 90000000")
        .execute(app.db.writer())
        .await
        .unwrap();
    assert_eq!(paylet::idempotency::expire(&app.db).await.unwrap(), 1);
}

#[tokio::test]
async fn admin_posts_replay_too() {
    let app = spawn_app().await;
    let product = json!({ "sku": "CAP", "name": "Cap", "price": { "amount": 1500, "currency": "USD" } });
    let post = || {
        app.http
            .post(app.url("/v1/admin/products"))
            .bearer_auth(&app.admin_key)
            .header("Idempotency-Key", "p-1")
            .json(&product)
            .send()
    };
    let first = post().await.unwrap();
    assert_eq!(first.status(), 201);
    let second = post().await.unwrap();
    assert_eq!(second.status(), 201, "replayed, not a 409 product_exists");
    assert_eq!(second.headers()["idempotent-replayed"], "true");
}
