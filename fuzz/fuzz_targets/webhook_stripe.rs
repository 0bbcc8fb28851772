//! Stripe-style webhook signatures (`Stripe-Signature`).
//!
//! The property is `paylet_fuzz_properties::webhook_stripe`; `cargo test` runs it on
//! every file in `fuzz/seeds/webhook_stripe/` and `fuzz/regressions/webhook_stripe/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| paylet_fuzz_properties::webhook_stripe(bytes));
