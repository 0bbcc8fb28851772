//! The gateway's own card fields (`card_fields = gateway`): the gateway's
//! browser SDK, loaded from its origin, mounts its inputs in frames of that
//! origin inside the checkout. The card never reaches this code; the SDK
//! hands back a token. The few calls into the SDK are in `card_sdk.js`,
//! written against the SDKs' own type definitions.

use leptos::html;
use leptos::prelude::*;
use paylet_api::{CustomerInput, GatewayStyle, Money, PublicGatewayConfig};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::gateway::{self, TokenizeError};
use crate::i18n::{Locale, Texts};
use crate::json::{self, Json, Writer};

// Paylet's build never calls these (`GATEWAY_FIELDS`). Naming no module
// there keeps wasm-bindgen and Trunk from shipping card_sdk.js with it.
#[cfg_attr(feature = "gateway-fields", wasm_bindgen(module = "/src/card_sdk.js"))]
#[cfg_attr(not(feature = "gateway-fields"), wasm_bindgen)]
extern "C" {
    #[wasm_bindgen(js_name = mount)]
    fn js_mount(
        style: &str,
        sdk_url: &str,
        public_key: &str,
        location_id: &str,
        locale: &str,
        container: &web_sys::HtmlElement,
    ) -> js_sys::Promise;
    #[wasm_bindgen(js_name = tokenize)]
    fn js_tokenize(billing: &JsValue) -> js_sys::Promise;
    #[wasm_bindgen(js_name = verifyBuyer)]
    fn js_verify_buyer(token: &str, details: &JsValue) -> js_sys::Promise;
    #[wasm_bindgen(js_name = handleNextAction)]
    fn js_handle_next_action(client_secret: &str) -> js_sys::Promise;
}

/// What the glue resolved with: its object, or the error in it.
async fn call(promise: js_sys::Promise) -> Result<Json, TokenizeError> {
    let answer = JsFuture::from(promise).await.map_err(|_| TokenizeError::Network)?;
    let error = json::get(&answer, "error");
    if !error.is_object() {
        return Ok(answer);
    }
    if json::get(&error, "network").as_bool() == Some(true) {
        return Err(TokenizeError::Network);
    }
    let message = json::string(&error, "message").filter(|m| !m.is_empty());
    Err(gateway::card_error(&json::string(&error, "field").unwrap_or_default(), message))
}

/// The shopper's details the SDK passes on: the billing contact.
fn contact(customer: &CustomerInput) -> Writer {
    let mut writer = Writer::new();
    writer.str("email", &customer.email).some_str("name", customer.name.as_deref());
    if let Some(a) = &customer.billing_address {
        writer
            .str("line1", &a.line1)
            .str("city", &a.city)
            .str("postal_code", &a.postal_code)
            .str("country", &a.country);
    }
    writer
}

fn parse(writer: &mut Writer) -> JsValue {
    json::parse(&writer.end()).unwrap_or(JsValue::UNDEFINED)
}

/// The card's token, made by the SDK from what the shopper typed in its fields.
pub async fn tokenize(customer: &CustomerInput) -> Result<String, TokenizeError> {
    let answer = call(js_tokenize(&parse(&mut contact(customer)))).await?;
    json::string(&answer, "token").ok_or(TokenizeError::Network)
}

/// Square style: the SDK verifies the buyer for `amount` (3-D Secure); its
/// token goes with the payment. `None` for Stripe style, which verifies later.
pub async fn verify_buyer(
    gateway: &PublicGatewayConfig,
    token: &str,
    amount: Money,
    customer: &CustomerInput,
) -> Result<Option<String>, TokenizeError> {
    if gateway.style != GatewayStyle::Square {
        return Ok(None);
    }
    let details = parse(contact(customer).str("amount", &decimal(amount)).str("currency", amount.currency().code()));
    let answer = call(js_verify_buyer(token, &details)).await?;
    Ok(json::string(&answer, "verification_token"))
}

/// Stripe style: Stripe.js takes the payment's next action (the bank's
/// challenge); resolves when it is over, however it ended.
pub async fn handle_next_action(client_secret: &str) {
    let _ = call(js_handle_next_action(client_secret)).await;
}

/// `12.34` for 1234 minor units of a two-decimal currency: how Square's SDK
/// takes an amount. (`Money`'s `Display` writes it too, with the currency,
/// but through `core::fmt`, which the widget leaves out for its size.)
fn decimal(amount: Money) -> String {
    let exponent = amount.currency().exponent();
    let scale = 10i64.pow(exponent);
    let (units, fraction) = (amount.amount() / scale, amount.amount() % scale);
    if exponent == 0 {
        return json::decimal(units.unsigned_abs());
    }
    let fraction = json::decimal(fraction.unsigned_abs());
    let padding = "0".repeat(exponent as usize - fraction.len().min(exponent as usize));
    [json::decimal(units.unsigned_abs()), ".".into(), padding, fraction].concat()
}

/// The gateway's card fields, mounted once the container is in the page;
/// `ready` runs when the shopper can type into them (or the SDK failed, which
/// the fields then say).
#[component]
pub fn GatewayCardFields(
    gateway: PublicGatewayConfig,
    locale: Locale,
    t: &'static Texts,
    ready: Callback<()>,
) -> impl IntoView {
    let container = NodeRef::<html::Div>::new();
    let failed = RwSignal::new(false);
    container.on_load(move |element| {
        let Some(sdk_url) = gateway.sdk_url.clone() else {
            failed.set(true);
            return ready.run(());
        };
        leptos::task::spawn_local(async move {
            let location = gateway.location_id.clone().unwrap_or_default();
            let style = gateway.style.as_str();
            let mounted = js_mount(style, &sdk_url, &gateway.public_key, &location, locale.tag(), &element);
            if call(mounted).await.is_err() {
                failed.set(true);
            }
            ready.run(());
        });
    });
    view! {
        <fieldset class="card">
            <legend>{t.card}</legend>
            <div class="gateway-card" node_ref=container></div>
            <Show when=move || failed.get()>
                <p class="error" role="alert">{t.gateway_unreachable}</p>
            </Show>
        </fieldset>
    }
}

#[cfg(test)]
mod tests {
    use paylet_api::{Currency, Money};

    use super::decimal;

    #[test]
    fn amounts_are_written_in_major_units_as_square_takes_them() {
        let money = |minor, code| Money::new(minor, Currency::parse(code).unwrap()).unwrap();
        assert_eq!(decimal(money(1234, "USD")), "12.34");
        assert_eq!(decimal(money(5, "USD")), "0.05");
        assert_eq!(decimal(money(500, "JPY")), "500");
        assert_eq!(decimal(money(1001, "BHD")), "1.001");
    }
}
