use serde_json::json;

use crate::helpers::{error, spawn_app};

#[tokio::test]
async fn checkout_config_has_the_public_gateway_key_and_the_catalog() {
    let app = spawn_app().await;
    let (status, config) = app.get(&format!("/v1/stores/{}/checkout-config", app.store)).await;
    assert_eq!(status, 200);
    assert_eq!(config["store_name"], "Test Store");
    assert_eq!(config["currency"], "USD");
    assert_eq!(config["gateway"]["style"], "stripe");
    assert_eq!(config["gateway"]["public_key"], app.account.publishable_key.as_str());
    assert_eq!(config["allowed_origins"], json!(["https://shop.example"]));
    let skus: Vec<_> = config["catalog"].as_array().unwrap().iter().map(|p| p["sku"].as_str().unwrap()).collect();
    assert_eq!(skus, ["MUG", "TEE"]);
    // The secret key is nowhere in what the browser gets.
    assert!(!config.to_string().contains(app.account.secret_key.expose()));
}

#[tokio::test]
async fn unknown_store_is_a_json_404() {
    let app = spawn_app().await;
    let (status, body) = app.get("/v1/stores/st_nope/checkout-config").await;
    assert_eq!(status, 404);
    error(&body, "not_found");
    let (status, body) = app.get("/v1/stores/not-an-id/checkout-config").await;
    assert_eq!(status, 404);
    error(&body, "not_found");
}

#[tokio::test]
async fn the_server_prices_the_order_from_its_catalog() {
    let app = spawn_app().await;
    let (status, order) =
        app.create_order(json!([{ "sku": "TEE", "quantity": 2 }, { "sku": "MUG", "quantity": 1 }])).await;
    assert_eq!(status, 201, "{order}");
    assert_eq!(order["status"], "pending");
    assert_eq!(order["total"], json!({ "amount": 2 * 2500 + 1800, "currency": "USD" }));
    assert_eq!(order["lines"][0]["unit_price"]["amount"], 2500);
    assert_eq!(order["lines"][0]["total"]["amount"], 5000);
    assert!(order["client_secret"].as_str().unwrap().starts_with(order["id"].as_str().unwrap()));
}

#[tokio::test]
async fn a_price_sent_by_the_browser_is_refused() {
    let app = spawn_app().await;
    let body = json!({
        "items": [{ "sku": "TEE", "quantity": 1, "unit_price": 1 }],
        "customer": { "email": "ada@example.com" }
    });
    let (status, body) = app.post_json(&format!("/v1/stores/{}/orders", app.store), &body).await;
    assert_eq!(status, 422);
    assert_eq!(error(&body, "invalid_field")["field"], "items[0].unit_price");
}

#[tokio::test]
async fn bad_order_fields_are_named_in_a_422() {
    let app = spawn_app().await;
    let cases = [
        (json!([{ "sku": "NOPE", "quantity": 1 }]), "ada@example.com", "unknown_sku", "items[0].sku"),
        (json!([{ "sku": "TEE", "quantity": 0 }]), "ada@example.com", "invalid_quantity", "items[0].quantity"),
        (
            json!([{ "sku": "TEE", "quantity": 1 }, { "sku": "bad sku", "quantity": 1 }]),
            "ada@example.com",
            "invalid_sku",
            "items[1].sku",
        ),
        (json!([]), "ada@example.com", "no_items", "items"),
        (json!([{ "sku": "TEE", "quantity": 1 }]), "not-an-email", "invalid_email", "customer.email"),
    ];
    for (items, email, code, field) in cases {
        let body = json!({ "items": items, "customer": { "email": email } });
        let (status, body) = app.post_json(&format!("/v1/stores/{}/orders", app.store), &body).await;
        assert_eq!(status, 422, "{code}: {body}");
        assert_eq!(error(&body, code)["field"], field);
    }
}

#[tokio::test]
async fn a_negative_quantity_names_the_field() {
    let app = spawn_app().await;
    let (status, body) = app.create_order(json!([{ "sku": "TEE", "quantity": -1 }])).await;
    assert_eq!(status, 422);
    assert_eq!(error(&body, "invalid_field")["field"], "items[0].quantity");
}

#[tokio::test]
async fn an_inactive_product_cannot_be_ordered() {
    use paylet::catalog::{self, Product, Sku};
    use paylet_api::{Currency, Money};
    let app = spawn_app().await;
    let usd = Currency::parse("USD").unwrap();
    let retired = Product {
        sku: Sku::parse("OLD").unwrap(),
        name: "Old".into(),
        price: Money::new(100, usd).unwrap(),
        active: false,
    };
    catalog::upsert(&app.db, &app.store, &retired).await.unwrap();

    let (status, body) = app.create_order(json!([{ "sku": "OLD", "quantity": 1 }])).await;
    assert_eq!(status, 422);
    assert_eq!(error(&body, "inactive_product")["field"], "items[0].sku");
    let (_, config) = app.get(&format!("/v1/stores/{}/checkout-config", app.store)).await;
    assert!(!config.to_string().contains("OLD"));
}

#[tokio::test]
async fn a_total_too_large_for_64_bits_is_refused_not_wrapped() {
    use paylet::catalog::{self, Product, Sku};
    use paylet_api::{Currency, Money};
    let app = spawn_app().await;
    let usd = Currency::parse("USD").unwrap();
    let huge = Product {
        sku: Sku::parse("YACHT").unwrap(),
        name: "Yacht".into(),
        price: Money::new(i64::MAX / 3, usd).unwrap(),
        active: true,
    };
    catalog::upsert(&app.db, &app.store, &huge).await.unwrap();

    let (status, body) = app.create_order(json!([{ "sku": "YACHT", "quantity": 4 }])).await;
    assert_eq!(status, 422);
    assert_eq!(error(&body, "amount_too_large")["field"], "items[0].quantity");
    let (status, body) =
        app.create_order(json!([{ "sku": "YACHT", "quantity": 2 }, { "sku": "YACHT", "quantity": 2 }])).await;
    assert_eq!(status, 422);
    error(&body, "amount_too_large");
}

#[tokio::test]
async fn malformed_bodies_get_json_errors() {
    let app = spawn_app().await;
    let url = app.url(&format!("/v1/stores/{}/orders", app.store));

    let response = app.http.post(&url).header("content-type", "application/json").body("{").send().await.unwrap();
    assert_eq!(response.status(), 400);
    error(&response.json().await.unwrap(), "invalid_json");

    let response = app.http.post(&url).header("content-type", "text/plain").body("{}").send().await.unwrap();
    assert_eq!(response.status(), 415);
    error(&response.json().await.unwrap(), "unsupported_media_type");

    let big = format!(r#"{{"items":[],"customer":{{"email":"{}"}}}}"#, "a".repeat(100_000));
    let response = app.http.post(&url).header("content-type", "application/json").body(big).send().await.unwrap();
    assert_eq!(response.status(), 413);
    error(&response.json().await.unwrap(), "payload_too_large");
}

#[tokio::test]
async fn an_order_is_readable_only_with_its_client_secret() {
    let app = spawn_app().await;
    let order = app.order().await;
    let id = order["id"].as_str().unwrap();
    assert_eq!(app.order_status(&order).await, "pending");

    let (status, body) = app.get(&format!("/v1/orders/{id}?client_secret={id}_secret_wrong")).await;
    assert_eq!(status, 404);
    error(&body, "not_found");
    let (status, body) = app.get(&format!("/v1/orders/{id}")).await;
    assert_eq!(status, 400);
    error(&body, "invalid_query");
}

#[tokio::test]
async fn unknown_routes_get_json_404s() {
    let app = spawn_app().await;
    let (status, body) = app.get("/v1/nothing-here").await;
    assert_eq!(status, 404);
    error(&body, "not_found");
}

#[tokio::test]
async fn addresses_are_checked_by_country() {
    let app = spawn_app().await;
    let with = |address: serde_json::Value| json!({ "items": [{ "sku": "TEE", "quantity": 1 }], "customer": { "email": "a@b.co", "billing_address": address } });
    let cases = [
        (
            json!({ "line1": "1 Main", "city": "SF", "postal_code": "ABCDE", "country": "US" }),
            "customer.billing_address.postal_code",
        ),
        (
            json!({ "line1": "1 Main", "city": "SF", "postal_code": "94103", "country": "ZZ" }),
            "customer.billing_address.country",
        ),
        (
            json!({ "line1": " ", "city": "SF", "postal_code": "94103", "country": "US" }),
            "customer.billing_address.line1",
        ),
    ];
    for (address, field) in cases {
        let (status, body) = app.post_json(&format!("/v1/stores/{}/orders", app.store), &with(address)).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(error(&body, "invalid_address")["field"], field);
    }
    let (status, _) = app
        .post_json(
            &format!("/v1/stores/{}/orders", app.store),
            &with(json!({ "line1": "1 Queen's Rd", "city": "Hong Kong", "country": "HK" })),
        )
        .await;
    assert_eq!(status, 201, "no postal code where the country has none");
}

#[tokio::test]
async fn an_order_placed_with_someones_email_does_not_rename_them() {
    let app = spawn_app().await;
    let path = format!("/v1/stores/{}/orders", app.store);
    let place = |name: &str| json!({ "items": [{ "sku": "TEE", "quantity": 1 }], "customer": { "email": "ada@example.com", "name": name } });
    assert_eq!(app.post_json(&path, &place("Ada Lovelace")).await.0, 201);
    let (status, order) = app.post_json(&path, &place("Mallory")).await;
    assert_eq!(status, 201, "{order}");
    let names: Vec<Option<String>> = sqlx::query_scalar("SELECT name FROM customers WHERE email = 'ada@example.com'")
        .fetch_all(app.db.reader())
        .await
        .unwrap();
    assert_eq!(names, [Some("Ada Lovelace".to_owned())]);
    // The order itself keeps the name it was placed with.
    let detail = app.detail(&order).await;
    assert_eq!(detail["customer"]["name"], "Mallory", "{detail}");
}
