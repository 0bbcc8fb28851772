//! For tests of code that talks to the sandbox: what a shopper's browser does
//! with the card before the server ever sees a token.

use paylet_api::GatewayStyle;
use serde_json::{Value, json};

use crate::Account;

/// `number` tokenized at the sandbox at `base` with `account`'s public key,
/// as the browser does: Stripe style at `/v1/tokens`, Square style at
/// `/v2/card-nonces`; expiry 12/2034, CVC 123 (and Square style, postal code
/// 94103). `Err`
/// holds what the sandbox answered instead of a token.
pub async fn browser_token(
    http: &reqwest::Client,
    base: &str,
    account: &Account,
    style: GatewayStyle,
    number: &str,
) -> Result<String, String> {
    let request = match style {
        GatewayStyle::Stripe => {
            let form = [
                ("key", account.publishable_key.as_str()),
                ("card[number]", number),
                ("card[exp_month]", "12"),
                ("card[exp_year]", "2034"),
                ("card[cvc]", "123"),
            ];
            http.post(format!("{base}/v1/tokens")).form(&form)
        }
        GatewayStyle::Square => {
            let card =
                json!({ "number": number, "exp_month": 12, "exp_year": 2034, "cvv": "123", "postal_code": "94103" });
            http.post(format!("{base}/v2/card-nonces"))
                .json(&json!({ "application_id": account.application_id, "card": card }))
        }
    };
    let response = request.send().await.map_err(|e| e.to_string())?;
    let status = response.status();
    let body: Value = response.json().await.map_err(|e| e.to_string())?;
    let token = body.get("id").or_else(|| body.get("card_nonce")).and_then(Value::as_str);
    match token {
        Some(token) if status.is_success() => Ok(token.to_owned()),
        _ => Err(format!("tokenizing {number} answered {status}: {body}")),
    }
}
