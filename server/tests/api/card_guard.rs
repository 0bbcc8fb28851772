//! Card numbers never get in: wherever a request carries one, it is refused
//! with 422 before anything is stored.

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::TestCaseError;
use serde_json::{Value, json};
use tokio::runtime::Handle;

use crate::fuzz::{endpoints, run};
use crate::helpers::{error, spawn_app};

#[tokio::test]
async fn a_card_number_in_a_body_is_refused_and_nothing_is_stored() {
    let app = spawn_app().await;
    let orders = || async {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders").fetch_one(app.db.reader()).await.unwrap();
        count
    };
    let before = orders().await;
    // A broken integration that put the card where the name goes.
    let body = json!({
        "items": [{ "sku": "TEE", "quantity": 1 }],
        "customer": { "email": "ada@example.com", "name": "4242 4242 4242 4242" },
    });
    let (status, answer) = app.post_json(&format!("/v1/stores/{}/orders", app.store), &body).await;
    assert_eq!(status, 422, "{answer}");
    let e = error(&answer, "card_data_rejected");
    assert_eq!(e["field"], "body");
    assert!(e["message"].as_str().unwrap().contains("straight to the payment gateway"));
    assert!(!answer.to_string().contains("4242"), "the refusal does not repeat it: {answer}");
    assert_eq!(orders().await, before);

    // The same order with a real name goes through.
    let (status, _) = app.create_order(json!([{ "sku": "TEE", "quantity": 1 }])).await;
    assert_eq!(status, 201);
}

#[tokio::test]
async fn a_card_number_in_a_query_a_header_or_a_form_is_refused() {
    let app = spawn_app().await;
    let (status, answer) = app.get("/v1/orders/ord_x?client_secret=4000-0566-5566-5556").await;
    assert_eq!(status, 422);
    assert_eq!(error(&answer, "card_data_rejected")["field"], "query");

    let response = app
        .http
        .get(app.url(&format!("/v1/stores/{}/checkout-config", app.store)))
        .header("x-note", "card 5555555555554444")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let answer: serde_json::Value = response.json().await.unwrap();
    assert_eq!(error(&answer, "card_data_rejected")["field"], "x-note");

    // Form-encoded, as a Stripe-style tokenization would be if sent here by mistake.
    let response = app
        .http
        .post(app.url(&format!("/v1/webhooks/{}/stripe", app.store)))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("card%5Bnumber%5D=3782+822463+10005&card%5Bcvc%5D=1234")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
}

#[tokio::test]
async fn realistic_details_that_are_not_card_numbers_pass() {
    let app = spawn_app().await;
    let body = json!({
        "items": [{ "sku": "TEE", "quantity": 1 }],
        "customer": {
            "email": "ada.lovelace+1815@example.com",
            "name": "Ada (phone +1 415 555 2671, ref ORD-2026-000123)",
            "billing_address": {
                "line1": "4242 Main St, Apt 16", "city": "Springfield", "postal_code": "94103-1234", "country": "US"
            },
        },
    });
    let (status, answer) = app.post_json(&format!("/v1/stores/{}/orders", app.store), &body).await;
    assert_eq!(status, 201, "{answer}");
}

#[tokio::test]
async fn oversized_headers_and_deeply_nested_json_get_clear_errors() {
    let app = spawn_app().await;
    let response = app
        .http
        .get(app.url(&format!("/v1/stores/{}/checkout-config", app.store)))
        .header("x-padding", "a".repeat(17 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 431);
    let answer: serde_json::Value = response.json().await.unwrap();
    error(&answer, "headers_too_large");

    let mut body = json!({ "sku": "TEE", "quantity": 1 });
    for _ in 0..40 {
        body = json!([body]);
    }
    let (status, answer) =
        app.post_json(&format!("/v1/stores/{}/orders", app.store), &json!({ "items": body, "customer": {} })).await;
    assert_eq!(status, 400, "{answer}");
    error(&answer, "json_too_deep");
}

/// The zero of each set of digits the spellings use: ASCII, full-width,
/// Arabic-Indic, Extended Arabic-Indic, Devanagari, Bengali, Thai and
/// mathematical bold. Each digit of a number may come from any of them.
const ZEROS: [u32; 8] = [0x30, 0xFF10, 0x660, 0x6F0, 0x966, 0x9E6, 0xE50, 0x1D7CE];

/// What people and keyboards put between digit groups: spaces of several
/// widths, dashes and dots; or nothing.
const SEPARATORS: [&str; 10] =
    ["", " ", "\u{a0}", "\u{2009}", "\u{202f}", "\u{3000}", "-", "\u{2013}", "\u{2212}", "."];

/// A valid Visa, Mastercard, Amex or Discover number.
fn card_number() -> impl Strategy<Value = String> {
    (0usize..4, proptest::collection::vec(0u8..10, 18)).prop_map(|(brand, body)| {
        let (prefix, len) = [("4", 16), ("51", 16), ("37", 15), ("6011", 16)][brand];
        let mut digits: String = prefix.to_owned();
        digits.extend(body.iter().map(|d| char::from(b'0' + d)));
        digits.truncate(len - 1);
        (b'0'..=b'9').map(|c| format!("{digits}{}", char::from(c))).find(|n| paylet_card::luhn_valid(n)).unwrap()
    })
}

/// `number` as a person might write it: each digit in a script chosen by
/// `scripts`, groups of four parted by `separator`, inside some words.
fn spelled(number: &str, scripts: &[usize], separator: &str, words: (&str, &str)) -> String {
    let mut out = words.0.to_owned();
    for (i, digit) in number.bytes().enumerate() {
        if i > 0 && i % 4 == 0 {
            out.push_str(separator);
        }
        let zero = ZEROS[scripts[i % scripts.len()] % ZEROS.len()];
        out.push(char::from_u32(zero + u32::from(digit - b'0')).unwrap());
    }
    out.push_str(words.1);
    out
}

/// `text` as a JSON string literal with the characters `escaped` picks
/// written as `\uXXXX` escapes (surrogate pairs beyond the BMP).
fn json_literal(text: &str, escaped: &[bool]) -> String {
    let mut out = String::from('"');
    for (i, c) in text.chars().enumerate() {
        if escaped[i % escaped.len()] {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    out.push('"');
    out
}

/// The pre-order positions of the string values in `value`.
fn string_slots(value: &Value) -> usize {
    match value {
        Value::String(_) => 1,
        Value::Array(items) => items.iter().map(string_slots).sum(),
        Value::Object(map) => map.values().map(string_slots).sum(),
        _ => 0,
    }
}

/// Replaces string value number `slot` (pre-order) of `value` with `with`.
fn replace_string(value: &mut Value, slot: &mut usize, with: &str) -> bool {
    match value {
        Value::String(s) => {
            if *slot == 0 {
                *s = with.to_owned();
                return true;
            }
            *slot -= 1;
            false
        }
        Value::Array(items) => items.iter_mut().any(|v| replace_string(v, slot, with)),
        Value::Object(map) => map.values_mut().any(|v| replace_string(v, slot, with)),
        _ => false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_number_in_any_script_spacing_or_json_escape_in_any_string_field_is_refused() {
    let app = spawn_app().await;
    let endpoints = endpoints(&app).await;
    let before = stored(&app).await;
    let handle = Handle::current();
    let words = prop::sample::select(vec![("", ""), ("card ", ""), ("Ada ", " Lovelace"), ("n:", ".")]);
    let strategy = (
        0..endpoints.len(),
        any::<Index>(),
        card_number(),
        proptest::collection::vec(0usize..ZEROS.len(), 1..5),
        prop::sample::select(SEPARATORS.to_vec()),
        words,
        proptest::collection::vec(any::<bool>(), 1..6),
    );
    run(&app, 192, strategy, |(endpoint, slot, number, scripts, separator, words, escaped)| {
        let endpoint = &endpoints[endpoint];
        let mut body = endpoint.template.clone();
        let mut slot = slot.index(string_slots(&body));
        const MARK: &str = "@@card@@";
        replace_string(&mut body, &mut slot, MARK);
        let text = spelled(&number, &scripts, separator, words);
        let body = body.to_string().replace(&format!("\"{MARK}\""), &json_literal(&text, &escaped));
        handle.block_on(async {
            let mut request = app.http.request(endpoint.method.clone(), app.url(&endpoint.path));
            if endpoint.admin {
                request = request.bearer_auth(&app.admin_key);
            }
            let response = request.header("content-type", "application/json").body(body.clone()).send().await;
            let response = response.map_err(|e| TestCaseError::fail(format!("no answer: {e}")))?;
            let status = response.status().as_u16();
            let answer: Value = response.json().await.unwrap_or(Value::Null);
            prop_assert_eq!(status, 422, "{} {}: {} got {}", endpoint.method, endpoint.path, body, answer);
            prop_assert_eq!(&answer["error"]["code"], "card_data_rejected", "{}", answer);
            Ok(())
        })
    });
    assert_eq!(stored(&app).await, before, "nothing was stored");
}

/// How many rows each table a public or admin request writes to holds.
async fn stored(app: &crate::helpers::TestApp) -> Vec<i64> {
    let mut counts = Vec::new();
    for table in ["orders", "customers", "csp_reports", "products", "checkout_sessions", "refunds"] {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        counts.push(sqlx::query_scalar::<_, i64>(&sql).fetch_one(app.db.reader()).await.unwrap());
    }
    counts
}
