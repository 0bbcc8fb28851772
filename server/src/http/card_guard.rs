//! The request guard: headers over a size limit are refused, and so is a
//! request that carries a card number, in its body, its
//! query or a header, is refused before any handler sees it. Card numbers go
//! from the shopper's browser to the gateway, never here; one arriving means a
//! broken or malicious integration, and the refusal says so without repeating
//! or logging what was sent.

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use paylet_card::find_card_numbers;

use crate::Error;

/// All headers together; browsers send a few KB, and a request carrying more
/// is refused before anything reads it.
const MAX_HEADER_BYTES: usize = 16 * 1024;

pub async fn refuse_card_data(request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let header_bytes: usize = parts.headers.iter().map(|(name, value)| name.as_str().len() + value.len()).sum();
    if header_bytes > MAX_HEADER_BYTES {
        return Error::HeadersTooLarge.into_response();
    }
    let Ok(body) = to_bytes(body, super::BODY_LIMIT).await else {
        return Error::PayloadTooLarge.into_response();
    };
    let query = parts.uri.query().unwrap_or_default();
    let place = if carries_card_number(query.as_bytes()) {
        Some("query".to_owned())
    } else if carries_card_number(&body) {
        Some("body".to_owned())
    } else {
        parts.headers.iter().find(|(_, value)| carries_card_number(value.as_bytes())).map(|(name, _)| name.to_string())
    };
    match place {
        Some(place) => {
            tracing::warn!(place = %place, "refused a request carrying a card number");
            Error::invalid(
                "card_data_rejected",
                place,
                "This request carries a card number. Card data must go straight to the payment gateway, never to \
                 Paylet; send the gateway's token instead.",
            )
            .into_response()
        }
        None => next.run(Request::from_parts(parts, Body::from(body))).await,
    }
}

/// Whether `bytes` spell a card number as sent, URL-decoded (`%34`, `+` for
/// a space), or as JSON strings once their escapes are read (`\u0034`): the
/// guard looks at what the handlers will see, not only at the bytes. (The
/// scanner itself reads digits of every script and the separators people
/// type.)
fn carries_card_number(bytes: &[u8]) -> bool {
    let found = |text: &str| !find_card_numbers(text).is_empty();
    found(&String::from_utf8_lossy(bytes))
        || form_urlencoded::parse(bytes).any(|(k, v)| found(&k) || found(&v))
        || json_strings(bytes).iter().any(|s| found(s))
}

/// Every key and string value in `bytes`, if they are JSON with an escape in
/// them; without one, each string is already in the bytes as sent.
fn json_strings(bytes: &[u8]) -> Vec<String> {
    if !bytes.contains(&b'\\') {
        return Vec::new();
    }
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return Vec::new(); // not JSON: no handler will read it as such
    };
    let mut strings = Vec::new();
    let mut stack = vec![value];
    while let Some(value) = stack.pop() {
        match value {
            serde_json::Value::String(s) => strings.push(s),
            serde_json::Value::Array(items) => stack.extend(items),
            serde_json::Value::Object(fields) => {
                for (key, value) in fields {
                    strings.push(key);
                    stack.push(value);
                }
            }
            _ => {}
        }
    }
    strings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_numbers_as_sent_and_as_url_encoded() {
        assert!(carries_card_number(b"card[number]=4242424242424242"));
        assert!(carries_card_number(b"card%5Bnumber%5D=4242+4242+4242+4242"));
        assert!(carries_card_number(b"n=%34%32%34%32%34%32%34%32%34%32%34%32%34%32%34%32"));
        assert!(!carries_card_number(b"token=tok_4242424242424242&q=%"));
    }

    #[test]
    fn finds_numbers_behind_json_escapes() {
        assert!(carries_card_number(br#"{"name":"\u0034242424242424242"}"#));
        assert!(carries_card_number(br#"{"name":"4242\u00204242\u00204242\u00204242"}"#));
        assert!(carries_card_number(br#"{"a":[{"\u0034242424242424242":1}]}"#));
        assert!(!carries_card_number(br#"{"name":"Ada \"Lovelace\"","n":"tok_4242424242424242"}"#));
    }
}
