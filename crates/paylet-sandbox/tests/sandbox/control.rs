//! The control API under `/_sandbox`.

use serde_json::{Value, json};

use crate::helpers::{serve, start};

#[tokio::test]
async fn payments_lists_only_what_took_money_in_either_style() {
    let gw = start().await;
    let (_, paid, _) = gw.charge("4242424242424242", &[]).await;
    gw.charge("4000000000000002", &[]).await;
    gw.charge("4000002500003155", &[("return_url", "https://shop.example/back")]).await;
    let nonce = gw.square_nonce("5555555555554444").await;
    let (_, square, _) = gw.square_pay(&nonce, "square-1").await;
    // Another account's payment, in the same sandbox, is not listed.
    let other = serve(gw.sandbox.clone(), gw.sandbox.create_account()).await;
    other.charge("4242424242424242", &[]).await;

    let url = gw.url(&format!("/_sandbox/accounts/{}/payments", gw.account.id));
    let listed: Value = gw.http.get(url).send().await.unwrap().json().await.unwrap();
    assert_eq!(
        listed,
        json!({ "data": [
            { "id": paid["id"], "amount": 2500, "currency": "USD" },
            { "id": square["payment"]["id"], "amount": 2500, "currency": "USD" },
        ] })
    );

    let missing = gw.http.get(gw.url("/_sandbox/accounts/acct_nobody/payments")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
}
