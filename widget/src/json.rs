//! JSON in and out without serde: the browser parses (`JSON.parse`, or
//! `Response.json()`), the widget reads the fields it knows, and writes its few
//! request bodies with a small writer. serde's derived (de)serializers and
//! serde_json were a fifth of the widget's WASM; this is a fraction of that.
//! The wire shapes are `paylet_api`'s (the server still uses its serde derives),
//! and values are checked as those derives check them: ids by their prefix,
//! currencies against ISO 4217, amounts never negative, statuses by name.

use js_sys::Reflect;
use leptos::prelude::{RwSignal, With};
use paylet_api::{
    Address, CardFields, CatalogItem, CheckoutConfig, CheckoutSessionView, ClientSecret, Currency, Decline,
    GatewayStyle, HostedSessionResponse, Money, NextAction, Order, OrderId, OrderLine, OrderStatus, PaymentMethod,
    PaymentResult, PublicGatewayConfig, StoreId,
};
use wasm_bindgen::JsValue;

/// A parsed JSON value.
pub type Json = JsValue;

/// `JSON.parse`, `None` when it is not JSON.
pub fn parse(text: &str) -> Option<Json> {
    js_sys::JSON::parse(text).ok()
}

/// `value[key]` (`undefined` when `value` is not an object or has no such key).
pub fn get(value: &Json, key: &str) -> Json {
    if value.is_object() {
        Reflect::get(value, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
    } else {
        JsValue::UNDEFINED
    }
}

pub fn string(value: &Json, key: &str) -> Option<String> {
    get(value, key).as_string()
}

/// An optional string: absent or `null` is `Some(None)`; anything but a
/// string is `None` (not what the type says).
pub fn opt_string(value: &Json, key: &str) -> Option<Option<String>> {
    let v = get(value, key);
    if v.is_null() || v.is_undefined() { Some(None) } else { v.as_string().map(Some) }
}

/// An optional object, as `opt_string`.
fn opt<T>(value: &Json, key: &str, read: fn(&Json) -> Option<T>) -> Option<Option<T>> {
    let v = get(value, key);
    if v.is_null() || v.is_undefined() { Some(None) } else { read(&v).map(Some) }
}

/// A whole number in `0..=max`.
fn whole(value: &Json, key: &str, max: f64) -> Option<f64> {
    let n = get(value, key).as_f64()?;
    (n >= 0.0 && n <= max && n.trunc() == n).then_some(n)
}

#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // checked by `whole`
fn u32_field(value: &Json, key: &str) -> Option<u32> {
    whole(value, key, f64::from(u32::MAX)).map(|n| n as u32)
}

/// Every element of the array `value[key]` read with `read`; `None` if it is no
/// array or any element is not what `read` wants.
pub fn list<T>(value: &Json, key: &str, read: impl Fn(&Json) -> Option<T>) -> Option<Vec<T>> {
    let v = get(value, key);
    if !js_sys::Array::is_array(&v) {
        return None;
    }
    js_sys::Array::from(&v).iter().map(|item| read(&item)).collect()
}

fn list_of<T>(value: &Json, key: &str, read: fn(&Json) -> Option<T>) -> Option<Vec<T>> {
    list(value, key, read)
}

/// `{"amount", "currency"}`: JSON numbers are exact integers up to 2^53, far
/// beyond any amount a shopper is shown.
#[allow(clippy::cast_possible_truncation)] // checked by `whole`
fn money(value: &Json) -> Option<Money> {
    let amount = whole(value, "amount", 9_007_199_254_740_991.0)? as i64;
    Money::new(amount, Currency::parse(&string(value, "currency")?).ok()?).ok()
}

fn money_field(value: &Json, key: &str) -> Option<Money> {
    money(&get(value, key))
}

fn store_id(value: &Json, key: &str) -> Option<StoreId> {
    StoreId::parse(&string(value, key)?).ok()
}

fn order_id(value: &Json, key: &str) -> Option<OrderId> {
    OrderId::parse(&string(value, key)?).ok()
}

fn status(value: &Json) -> Option<OrderStatus> {
    OrderStatus::parse(&string(value, "status")?)
}

fn order_line(value: &Json) -> Option<OrderLine> {
    Some(OrderLine {
        sku: opt_string(value, "sku")?.unwrap_or_default(),
        name: string(value, "name")?,
        quantity: u32_field(value, "quantity")?,
        unit_price: money_field(value, "unit_price")?,
        total: money_field(value, "total")?,
    })
}

fn catalog_item(value: &Json) -> Option<CatalogItem> {
    Some(CatalogItem { sku: string(value, "sku")?, name: string(value, "name")?, price: money_field(value, "price")? })
}

fn gateway(value: &Json) -> Option<PublicGatewayConfig> {
    Some(PublicGatewayConfig {
        style: GatewayStyle::parse(&string(value, "style")?)?,
        name: string(value, "name")?,
        public_key: string(value, "public_key")?,
        api_base: string(value, "api_base")?,
        card_fields: CardFields::parse(&string(value, "card_fields")?)?,
        sdk_url: opt_string(value, "sdk_url")?,
        location_id: opt_string(value, "location_id")?,
    })
}

/// `GET /v1/stores/{store}/checkout-config`.
pub fn checkout_config(value: &Json) -> Option<CheckoutConfig> {
    Some(CheckoutConfig {
        store_id: store_id(value, "store_id")?,
        store_name: string(value, "store_name")?,
        currency: Currency::parse(&string(value, "currency")?).ok()?,
        payment_methods: list(value, "payment_methods", |m| PaymentMethod::parse(&m.as_string()?))?,
        allowed_origins: list(value, "allowed_origins", JsValue::as_string)?,
        gateway: gateway(&get(value, "gateway"))?,
        catalog: list_of(value, "catalog", catalog_item)?,
    })
}

/// `GET /v1/checkout-sessions/{id}`.
pub fn checkout_session(value: &Json) -> Option<CheckoutSessionView> {
    Some(CheckoutSessionView {
        id: string(value, "id")?,
        store_id: store_id(value, "store_id")?,
        lines: list_of(value, "lines", order_line)?,
        total: money_field(value, "total")?,
        status: string(value, "status")?,
    })
}

pub fn order(value: &Json) -> Option<Order> {
    Some(Order {
        id: order_id(value, "id")?,
        status: status(value)?,
        lines: list_of(value, "lines", order_line)?,
        total: money_field(value, "total")?,
        client_secret: opt_string(value, "client_secret")?.map(ClientSecret::new),
    })
}

pub fn payment_result(value: &Json) -> Option<PaymentResult> {
    Some(PaymentResult {
        order_id: order_id(value, "order_id")?,
        status: status(value)?,
        decline: opt(value, "decline", |d| Some(Decline { code: string(d, "code")?, message: string(d, "message")? }))?,
        next_action: opt(value, "next_action", |a| {
            Some(NextAction {
                redirect_url: opt_string(a, "redirect_url")?,
                gateway_client_secret: opt_string(a, "gateway_client_secret")?,
            })
        })?,
    })
}

pub fn hosted_session(value: &Json) -> Option<HostedSessionResponse> {
    Some(HostedSessionResponse { order_id: order_id(value, "order_id")?, url: string(value, "url")? })
}

/// A JSON object, written field by field.
pub struct Writer(String);

impl Writer {
    pub fn new() -> Writer {
        Writer(String::from("{"))
    }

    fn key(&mut self, key: &str) -> &mut Writer {
        if self.0.len() > 1 {
            self.0.push(',');
        }
        self.0.push('"');
        self.0.push_str(key);
        self.0.push_str("\":");
        self
    }

    pub fn str(&mut self, key: &str, value: &str) -> &mut Writer {
        self.key(key);
        quote(&mut self.0, value);
        self
    }

    /// A string, or `null`.
    pub fn opt_str(&mut self, key: &str, value: Option<&str>) -> &mut Writer {
        match value {
            Some(value) => self.str(key, value),
            None => self.raw(key, "null"),
        }
    }

    /// A string when there is one; no field at all when there is none.
    pub fn some_str(&mut self, key: &str, value: Option<&str>) -> &mut Writer {
        if let Some(value) = value {
            self.str(key, value);
        }
        self
    }

    pub fn num(&mut self, key: &str, value: u64) -> &mut Writer {
        self.raw(key, &decimal(value))
    }

    /// Already-written JSON (an object from another `Writer`, `null`, a list).
    pub fn raw(&mut self, key: &str, json: &str) -> &mut Writer {
        self.key(key);
        self.0.push_str(json);
        self
    }

    pub fn end(&mut self) -> String {
        self.0.push('}');
        std::mem::take(&mut self.0)
    }
}

/// A JSON string literal.
fn quote(out: &mut String, value: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                out.push_str("\\u00");
                out.push(char::from(HEX[(c as usize) >> 4]));
                out.push(char::from(HEX[(c as usize) & 15]));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `aria-invalid`'s value for a field with this error: one closure type for
/// every field, so one copy of the code that keeps the attribute current.
pub fn invalid(error: RwSignal<Option<String>>) -> impl Fn() -> &'static str + Copy + Send + Sync + 'static {
    move || if error.with(Option::is_some) { "true" } else { "false" }
}

/// `value` in decimal, without `core::fmt`.
pub fn decimal(mut value: u64) -> String {
    let mut digits = Vec::new();
    loop {
        #[allow(clippy::cast_possible_truncation)] // one digit
        digits.push(b'0' + (value % 10) as u8);
        value /= 10;
        if value == 0 {
            break;
        }
    }
    digits.iter().rev().map(|&d| char::from(d)).collect()
}

/// A `paylet_api::Address`, as its serde derive writes it.
pub fn address(address: &Address) -> String {
    Writer::new()
        .str("line1", &address.line1)
        .some_str("line2", address.line2.as_deref())
        .str("city", &address.city)
        .some_str("state", address.state.as_deref())
        .str("postal_code", &address.postal_code)
        .str("country", &address.country)
        .end()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_json_as_serde_does() {
        let json = Writer::new()
            .str("a", "x\"y\\z\n\u{1}é")
            .num("n", 1234)
            .opt_str("none", None)
            .some_str("skipped", None)
            .raw("o", &Writer::new().num("zero", 0).end())
            .end();
        assert_eq!(json, r#"{"a":"x\"y\\z\n\u0001é","n":1234,"none":null,"o":{"zero":0}}"#);
        let address = Address {
            line1: "1 Main St".into(),
            line2: None,
            city: "Town".into(),
            state: Some("CA".into()),
            postal_code: "94103".into(),
            country: "US".into(),
        };
        assert_eq!(
            self::address(&address),
            r#"{"line1":"1 Main St","city":"Town","state":"CA","postal_code":"94103","country":"US"}"#
        );
        assert_eq!(decimal(u64::MAX), u64::MAX.to_string());
    }
}
