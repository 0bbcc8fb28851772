//! The JSON bodies the server deserializes (and the responses the widget
//! does), read the way the server's extractor reads them: `serde_json` through
//! `serde_path_to_error`, which names the failing field. Never a panic; what
//! parses serializes and parses back to the same value; an address that passes
//! its checks passes them again unchanged; amounts, currencies and ids that
//! parse print back to themselves.
//!
//! The server's own `json_depth` guard (server/src/http/extract.rs) is private
//! to the server crate, so it is exercised through the HTTP proptest in
//! server/tests/api/fuzz.rs instead; `serde_json`'s recursion limit (128) is
//! what protects these parsers here.

use paylet_api::{
    Address, CheckoutConfig, CheckoutSessionView, ConfirmPaymentRequest, CreateOrderRequest, Currency, ErrorBody,
    HostedSessionRequest, Money, Order, OrderId, PayRequest, PaymentResult, StoreId,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Parses `bytes` as the server does; what parses must round-trip.
fn body<T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug>(bytes: &[u8]) -> Option<T> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Ok(value) => {
            let Ok(again) = serde_json::to_vec(&value) else { panic!("{value:?} does not serialize") };
            let back: T = match serde_json::from_slice(&again) {
                Ok(back) => back,
                Err(e) => {
                    panic!("{value:?} serializes to {} which does not parse: {e}", String::from_utf8_lossy(&again))
                }
            };
            assert_eq!(back, value);
            Some(value)
        }
        Err(e) => {
            // The server names the field and classifies the error from these.
            let _ = e.path().to_string();
            let inner = e.into_inner();
            let _ = (inner.is_syntax(), inner.is_eof(), inner.to_string());
            None
        }
    }
}

fn address(a: &Address) {
    if let Ok(tidy) = a.checked() {
        assert_eq!(tidy.checked().as_ref(), Ok(&tidy), "checking is not idempotent");
    }
}

/// The `api_json` property on one input.
pub fn api_json(bytes: &[u8]) {
    if let Some(order) = body::<CreateOrderRequest>(bytes) {
        for a in order.customer.billing_address.iter().chain(&order.customer.shipping_address) {
            address(a);
        }
    }
    body::<PayRequest>(bytes);
    body::<ConfirmPaymentRequest>(bytes);
    body::<HostedSessionRequest>(bytes);
    if let Some(a) = body::<Address>(bytes) {
        address(&a);
    }
    if let Some(m) = body::<Money>(bytes) {
        assert!(m.amount() >= 0);
    }
    body::<Order>(bytes);
    body::<CheckoutConfig>(bytes);
    body::<CheckoutSessionView>(bytes);
    body::<PaymentResult>(bytes);
    body::<ErrorBody>(bytes);
    // Any JSON at all (no round trip: `serde_json` reads floats approximately).
    let _ = serde_json::from_slice::<serde_json::Value>(bytes);

    let Ok(text) = std::str::from_utf8(bytes) else { return };
    if let Ok(currency) = Currency::parse(text) {
        assert!(currency.code().eq_ignore_ascii_case(text));
    }
    for code in ["USD", "JPY", "KWD", "CLF"] {
        let Ok(currency) = Currency::parse(code) else { unreachable!() };
        if let Ok(money) = Money::parse_decimal(text, currency) {
            let printed = money.to_string();
            let Some((amount, _)) = printed.split_once(' ') else { panic!("{printed}") };
            assert_eq!(Money::parse_decimal(amount, currency), Ok(money), "{text:?} printed as {printed:?}");
        }
    }
    if let Ok(id) = OrderId::parse(text) {
        assert_eq!(id.as_str(), text);
    }
    if let Ok(id) = StoreId::parse(text) {
        assert_eq!(id.to_string(), text);
    }
    if let Some((country, code)) = text.split_once('|') {
        let _ = paylet_api::address::valid_postal_code(country, code);
    }
}
