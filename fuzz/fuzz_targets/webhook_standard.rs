//! Standard Webhooks signatures and `whsec_` secrets.
//!
//! The property is `paylet_fuzz_properties::webhook_standard`; `cargo test` runs it on
//! every file in `fuzz/seeds/webhook_standard/` and `fuzz/regressions/webhook_standard/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| paylet_fuzz_properties::webhook_standard(bytes));
