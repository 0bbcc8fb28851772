//! The Paylet checkout widget. It runs in an iframe on the Paylet origin, so the
//! merchant's page cannot read its fields; card data leaves it only for the
//! gateway's tokenization endpoint, or never enters it (the gateway's own
//! card fields, `card_sdk`).

mod address_form;
mod api;
mod app;
mod card_form;
mod card_sdk;
mod challenge;
mod gateway;
mod host;
mod i18n;
mod json;
mod money;

/// Whether this build carries the gateway's card fields (`--features
/// gateway-fields`) rather than Paylet's. Each build carries one kind only, so
/// that each stays within the widget's size budget: the code of the other kind
/// is behind a constant `false` and the compiler leaves it out. The server
/// serves each store the build for its kind.
const GATEWAY_FIELDS: bool = cfg!(feature = "gateway-fields");

fn main() {
    leptos::mount::mount_to_body(app::App);
}
