//! The card-number guard's scanner and the log masker on any text, and the
//! widget's card helpers.
//!
//! The property is `paylet_fuzz_properties::card_scan`; `cargo test` runs it on
//! every file in `fuzz/seeds/card_scan/` and `fuzz/regressions/card_scan/`.
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| paylet_fuzz_properties::card_scan(bytes));
