use crate::helpers::{error, spawn_app};

#[tokio::test]
async fn a_good_card_pays_the_order() {
    let app = spawn_app().await;
    let order = app.order().await;
    let token = app.tokenize("4242424242424242").await;

    let (status, result) = app.pay(&order, &token).await;
    assert_eq!(status, 200, "{result}");
    assert_eq!(result["status"], "paid");
    assert!(result.get("decline").is_none());
    assert_eq!(app.order_status(&order).await, "paid");
    assert_eq!(app.charges_at_gateway(), 1);
}

#[tokio::test]
async fn a_declined_card_says_why_and_the_order_can_still_be_paid() {
    let app = spawn_app().await;
    let order = app.order().await;

    let declined = app.tokenize("4000000000000002").await;
    let (status, result) = app.pay(&order, &declined).await;
    assert_eq!(status, 200, "{result}");
    assert_eq!(result["status"], "pending");
    assert_eq!(result["decline"]["code"], "card_declined");
    assert!(result["decline"]["message"].as_str().unwrap().contains("declined"));
    assert_eq!(app.order_status(&order).await, "pending");

    let good = app.tokenize("4242424242424242").await;
    let (_, result) = app.pay(&order, &good).await;
    assert_eq!(result["status"], "paid");
}

#[tokio::test]
async fn insufficient_funds_gets_its_own_message() {
    let app = spawn_app().await;
    let order = app.order().await;
    let token = app.tokenize("4000000000009995").await;
    let (_, result) = app.pay(&order, &token).await;
    assert_eq!(result["decline"]["code"], "insufficient_funds");
    assert!(result["decline"]["message"].as_str().unwrap().contains("insufficient funds"));
}

#[tokio::test]
async fn paying_a_paid_order_again_never_charges_twice() {
    let app = spawn_app().await;
    let order = app.order().await;
    let token = app.tokenize("4242424242424242").await;
    app.pay(&order, &token).await;

    // The same request again (a double click), and a new card on the paid order.
    let (status, again) = app.pay(&order, &token).await;
    assert_eq!(status, 200);
    assert_eq!(again["status"], "paid");
    let other = app.tokenize("5555555555554444").await;
    let (_, again) = app.pay(&order, &other).await;
    assert_eq!(again["status"], "paid");

    assert_eq!(app.charges_at_gateway(), 1);
}

#[tokio::test]
async fn a_wrong_client_secret_cannot_pay() {
    let app = spawn_app().await;
    let mut order = app.order().await;
    let token = app.tokenize("4242424242424242").await;
    order["client_secret"] = format!("{}_secret_guess", order["id"].as_str().unwrap()).into();

    let (status, body) = app.pay(&order, &token).await;
    assert_eq!(status, 404);
    error(&body, "not_found");
    assert_eq!(app.charges_at_gateway(), 0);
}

#[tokio::test]
async fn a_malformed_token_is_refused_before_the_gateway() {
    let app = spawn_app().await;
    let order = app.order().await;
    let (status, body) = app.pay(&order, "tok with spaces").await;
    assert_eq!(status, 422);
    assert_eq!(error(&body, "invalid_token")["field"], "token");
    assert_eq!(app.charges_at_gateway(), 0);
}

#[tokio::test]
async fn a_token_the_gateway_does_not_know_is_a_clear_422() {
    let app = spawn_app().await;
    let order = app.order().await;
    let (status, body) = app.pay(&order, "tok_doesnotexist").await;
    assert_eq!(status, 422, "{body}");
    error(&body, "payment_rejected");
    assert_eq!(app.order_status(&order).await, "pending");
}
