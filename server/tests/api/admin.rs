//! The merchant's admin API.

use reqwest::Method;
use serde_json::json;
use tokio::task::JoinSet;

use crate::helpers::{error, spawn_app};

#[tokio::test]
async fn admin_calls_need_a_valid_key() {
    let app = spawn_app().await;
    let response = app.http.get(app.url("/v1/admin/orders")).send().await.unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    error(&response.json().await.unwrap(), "invalid_api_key");
    let id = app.admin_key.split('_').nth(1).unwrap();
    for bad in ["plk_nope", "plk_x_y", &format!("plk_{id}_wrongsecret"), &app.admin_key[..app.admin_key.len() - 1], ""]
    {
        let (status, body) = app.admin_as(bad, Method::GET, "/v1/admin/orders", None).await;
        assert_eq!(status, 401, "{bad}");
        error(&body, "invalid_api_key");
    }
    let (status, store) = app.admin_get("/v1/admin/store").await;
    assert_eq!(status, 200);
    assert_eq!(store["id"], app.store.as_str());
    assert!(!store.to_string().contains(app.account.secret_key.expose()));
}

#[tokio::test]
async fn products_can_be_created_read_changed_and_deleted() {
    let app = spawn_app().await;
    let product = json!({ "sku": "CAP", "name": "Cap", "price": { "amount": 1500, "currency": "USD" } });
    let (status, created) = app.admin_post("/v1/admin/products", &product).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        created,
        json!({ "sku": "CAP", "name": "Cap", "price": { "amount": 1500, "currency": "USD" }, "active": true })
    );
    let (status, body) = app.admin_post("/v1/admin/products", &product).await;
    assert_eq!(status, 409);
    error(&body, "product_exists");

    let (_, list) = app.admin_get("/v1/admin/products").await;
    assert_eq!(list["data"].as_array().unwrap().len(), 3);
    let changes = json!({ "name": "Canvas cap", "price": { "amount": 1700, "currency": "USD" }, "active": false });
    let (status, changed) = app.admin(Method::PATCH, "/v1/admin/products/CAP", Some(&changes)).await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["price"]["amount"], 1700);
    assert_eq!(changed["active"], false);
    let (_, config) = app.get(&format!("/v1/stores/{}/checkout-config", app.store)).await;
    assert!(!config.to_string().contains("CAP"), "an inactive product is not offered");

    let euros = json!({ "price": { "amount": 1, "currency": "EUR" } });
    let (status, body) = app.admin(Method::PATCH, "/v1/admin/products/CAP", Some(&euros)).await;
    assert_eq!(status, 422);
    assert_eq!(error(&body, "currency_mismatch")["field"], "price.currency");
    let (status, body) = app
        .admin_post(
            "/v1/admin/products",
            &json!({ "sku": "bad sku", "name": "x", "price": { "amount": 1, "currency": "USD" } }),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(error(&body, "invalid_sku")["field"], "sku");
    let (status, body) = app
        .admin_post(
            "/v1/admin/products",
            &json!({ "sku": "NEG", "name": "x", "price": { "amount": -1, "currency": "USD" } }),
        )
        .await;
    assert_eq!(status, 422, "{body}");

    let (status, _) = app.admin(Method::DELETE, "/v1/admin/products/CAP", None).await;
    assert_eq!(status, 200);
    let (status, body) = app.admin_get("/v1/admin/products/CAP").await;
    assert_eq!(status, 404);
    error(&body, "not_found");
}

#[tokio::test]
async fn a_store_never_sees_another_stores_data() {
    let app = spawn_app().await;
    let order = app.order().await;
    let (_, other_key) = app.other_store().await;

    let (status, _) = app
        .admin_as(&other_key, Method::GET, &format!("/v1/admin/orders/{}", order["id"].as_str().unwrap()), None)
        .await;
    assert_eq!(status, 404);
    let (_, list) = app.admin_as(&other_key, Method::GET, "/v1/admin/orders", None).await;
    assert_eq!(list["data"], json!([]));
    let (status, _) = app.admin_as(&other_key, Method::GET, "/v1/admin/products/TEE", None).await;
    assert_eq!(status, 404);
    let (_, products) = app.admin_as(&other_key, Method::GET, "/v1/admin/products", None).await;
    assert_eq!(products["data"], json!([]));
    let (status, _) = app.admin_as(&other_key, Method::DELETE, "/v1/admin/products/TEE", None).await;
    assert_eq!(status, 404);
    let (status, _) = app.admin_get("/v1/admin/products/TEE").await;
    assert_eq!(status, 200, "the owner's product is untouched");
    // The same SKU may exist in both stores.
    let (status, _) = app
        .admin_as(
            &other_key,
            Method::POST,
            "/v1/admin/products",
            Some(&json!({ "sku": "TEE", "name": "Other tee", "price": { "amount": 1, "currency": "USD" } })),
        )
        .await;
    assert_eq!(status, 201);
    let (_, mine) = app.admin_get("/v1/admin/products/TEE").await;
    assert_eq!(mine["name"], "Tee");
}

#[tokio::test]
async fn orders_are_listed_newest_first_with_filters_and_cursors() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(app.order().await["id"].as_str().unwrap().to_owned());
    }
    let paid = app.order().await;
    let token = app.tokenize("4242424242424242").await;
    app.pay(&paid, &token).await;

    let mut seen = Vec::new();
    let mut path = "/v1/admin/orders?limit=2".to_owned();
    loop {
        let (status, page) = app.admin_get(&path).await;
        assert_eq!(status, 200, "{page}");
        seen.extend(page["data"].as_array().unwrap().iter().map(|o| o["id"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/v1/admin/orders?limit=2&cursor={c}"),
            None => break,
        }
    }
    let mut expected = ids.clone();
    expected.push(paid["id"].as_str().unwrap().to_owned());
    expected.reverse();
    assert_eq!(seen, expected, "every order once, newest first");

    let (_, only_paid) = app.admin_get("/v1/admin/orders?status=paid").await;
    assert_eq!(only_paid["data"].as_array().unwrap().len(), 1);
    assert_eq!(only_paid["data"][0]["id"], paid["id"]);
    let (_, none) = app.admin_get("/v1/admin/orders?created_before=2001-01-01T00:00:00Z").await;
    assert_eq!(none["data"], json!([]));
    let (_, all) = app.admin_get("/v1/admin/orders?created_after=2001-01-01T00:00:00Z&limit=100").await;
    assert_eq!(all["data"].as_array().unwrap().len(), 6);

    for (query, code) in [
        ("status=lost", "invalid_status"),
        ("created_after=yesterday", "invalid_time"),
        ("limit=0", "invalid_limit"),
        ("cursor=abc", "invalid_cursor"),
    ] {
        let (status, body) = app.admin_get(&format!("/v1/admin/orders?{query}")).await;
        assert_eq!(status, 422, "{query}");
        error(&body, code);
    }
}

#[tokio::test]
async fn an_order_shows_its_customer_payments_and_history() {
    let app = spawn_app().await;
    let body = json!({
        "items": [{ "sku": "TEE", "quantity": 1 }],
        "customer": {
            "email": "ada@example.com", "name": "Ada",
            "billing_address": { "line1": "1 Main St", "city": "San Francisco", "state": "CA", "postal_code": "94103", "country": "us" },
            "shipping_address": { "line1": "2 Side St", "city": "London", "postal_code": "sw1a 1aa", "country": "GB" }
        }
    });
    let (_, order) = app.post_json(&format!("/v1/stores/{}/orders", app.store), &body).await;
    let declined = app.tokenize("4000000000000002").await;
    app.pay(&order, &declined).await;
    let good = app.tokenize("4242424242424242").await;
    app.pay(&order, &good).await;

    let (status, detail) = app.admin_get(&format!("/v1/admin/orders/{}", order["id"].as_str().unwrap())).await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["status"], "paid");
    assert_eq!(detail["customer"]["email"], "ada@example.com");
    assert!(detail["customer"]["id"].as_str().unwrap().starts_with("cus_"), "{detail}");
    assert_eq!(detail["customer"]["billing_address"]["country"], "US");
    assert_eq!(detail["customer"]["shipping_address"]["postal_code"], "SW1A 1AA");
    let payments: Vec<&str> =
        detail["payments"].as_array().unwrap().iter().map(|p| p["status"].as_str().unwrap()).collect();
    assert_eq!(payments, ["declined", "succeeded"]);
    assert!(detail["payments"][1]["gateway_payment_id"].as_str().unwrap().starts_with("pi_"));
    let history: Vec<&str> =
        detail["history"].as_array().unwrap().iter().map(|h| h["kind"].as_str().unwrap()).collect();
    assert_eq!(history, ["created", "payment_declined", "status_changed"]);
    assert_eq!(detail["history"][2]["detail"], "pending → paid");

    // The same email is the same customer.
    let (_, second) = app.post_json(&format!("/v1/stores/{}/orders", app.store), &body).await;
    let (_, second) = app.admin_get(&format!("/v1/admin/orders/{}", second["id"].as_str().unwrap())).await;
    assert_eq!(second["customer"]["id"], detail["customer"]["id"]);
}

#[tokio::test]
async fn many_order_details_can_be_read_at_once() {
    // More at once than the pool has connections (8 readers on SQLite, 16 on
    // Postgres): a detail that held one connection while asking for another
    // waited out the pool's timeout and answered 503.
    let app = spawn_app().await;
    let order = app.order().await;
    let url = app.url(&format!("/v1/admin/orders/{}", order["id"].as_str().unwrap()));
    let mut reads = JoinSet::new();
    for _ in 0..40 {
        let request = app.http.get(&url).bearer_auth(&app.admin_key);
        reads.spawn(async move { request.send().await.unwrap().status().as_u16() });
    }
    assert_eq!(reads.join_all().await, vec![200; 40]);
}

#[tokio::test]
async fn a_checkout_session_prices_the_order_and_completes_when_paid() {
    let app = spawn_app().await;
    let session = json!({
        "line_items": [
            { "name": "Gift box", "quantity": 2, "unit_amount": 1250 },
            { "name": "Wrapping", "sku": "WRAP", "quantity": 1, "unit_amount": 300 }
        ],
        "metadata": { "cart": "c-77" }
    });
    let (status, created) = app.admin_post("/v1/admin/checkout-sessions", &session).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap();
    assert!(id.starts_with("cs_"));
    assert_eq!(created["total"], json!({ "amount": 2800, "currency": "USD" }));

    // What the widget sees with only the session id.
    let (status, view) = app.get(&format!("/v1/checkout-sessions/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(view["status"], "open");
    assert_eq!(view["lines"][0]["name"], "Gift box");

    let order_body = json!({ "checkout_session": id, "customer": { "email": "ada@example.com" } });
    let (status, order) = app.post_json(&format!("/v1/stores/{}/orders", app.store), &order_body).await;
    assert_eq!(status, 201, "{order}");
    assert_eq!(order["total"]["amount"], 2800);
    let token = app.tokenize("4242424242424242").await;
    let (_, paid) = app.pay(&order, &token).await;
    assert_eq!(paid["status"], "paid");

    let (_, view) = app.get(&format!("/v1/checkout-sessions/{id}")).await;
    assert_eq!(view["status"], "complete");
    let (status, body) = app.post_json(&format!("/v1/stores/{}/orders", app.store), &order_body).await;
    assert_eq!(status, 409);
    error(&body, "checkout_session_closed");
    let (_, detail) = app.admin_get(&format!("/v1/admin/orders/{}", order["id"].as_str().unwrap())).await;
    assert_eq!(detail["checkout_session"], id);

    // Sessions are per store, and priced by the merchant only with good numbers.
    let (status, body) = app
        .post_json(
            &format!("/v1/stores/{}/orders", app.store),
            &json!({ "checkout_session": "cs_nope", "customer": { "email": "a@b.co" } }),
        )
        .await;
    assert_eq!(status, 422);
    error(&body, "unknown_checkout_session");
    let (status, body) = app
        .admin_post(
            "/v1/admin/checkout-sessions",
            &json!({ "line_items": [{ "name": "x", "quantity": 0, "unit_amount": 1 }] }),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(error(&body, "invalid_quantity")["field"], "line_items[0].quantity");
    let both = json!({ "checkout_session": id, "items": [{ "sku": "TEE", "quantity": 1 }], "customer": { "email": "a@b.co" } });
    let (status, _) = app.post_json(&format!("/v1/stores/{}/orders", app.store), &both).await;
    assert_eq!(status, 422);
}
