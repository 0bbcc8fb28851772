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

fn main() {
    leptos::mount::mount_to_body(app::App);
}
