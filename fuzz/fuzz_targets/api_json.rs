//! The JSON bodies the server deserializes, and the amounts, currencies and
//! ids it parses.
//!
//! The property is `paylet_fuzz_properties::api_json`; `cargo test` runs it on
//! every file in `fuzz/seeds/api_json/` and `fuzz/regressions/api_json/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| paylet_fuzz_properties::api_json(bytes));
