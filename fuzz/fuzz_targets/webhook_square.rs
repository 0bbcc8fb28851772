//! Square-style webhook signatures (`x-square-hmacsha256-signature`).
//!
//! The property is `paylet_fuzz_properties::webhook_square`; `cargo test` runs it on
//! every file in `fuzz/seeds/webhook_square/` and `fuzz/regressions/webhook_square/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| paylet_fuzz_properties::webhook_square(bytes));
