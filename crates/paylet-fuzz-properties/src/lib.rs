//! The properties the cargo-fuzz targets in `fuzz/` check, one function per
//! target taking the fuzzer's bytes. The targets are one-liners calling them,
//! and `tests/replay.rs` calls them on every file in `fuzz/seeds/<target>/`
//! and `fuzz/regressions/<target>/`, so that seeds and past crashes are
//! checked by every `cargo test`, with no nightly compiler or cargo-fuzz.

// A property fails by panicking, as libFuzzer and the test harness expect.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use arbitrary::{Arbitrary, Unstructured};

mod api_json;
mod card_scan;
mod webhook_square;
mod webhook_standard;
mod webhook_stripe;

pub use api_json::api_json;
pub use card_scan::{card_scan, check_masking, scan};
pub use webhook_square::webhook_square;
pub use webhook_standard::webhook_standard;
pub use webhook_stripe::webhook_stripe;

/// A fuzz target's property: panics if the input breaks it.
pub type Property = fn(&[u8]);

/// Every fuzz target by name, with its property.
pub const TARGETS: [(&str, Property); 5] = [
    ("api_json", api_json),
    ("card_scan", card_scan),
    ("webhook_square", webhook_square),
    ("webhook_standard", webhook_standard),
    ("webhook_stripe", webhook_stripe),
];

/// `bytes` as a `T`, read as `fuzz_target!(|input: T| …)` reads them:
/// `None` (the input is skipped) if they are too short for a `T` or do not
/// make one.
fn input<'a, T: Arbitrary<'a>>(bytes: &'a [u8]) -> Option<T> {
    if bytes.len() < T::size_hint(0).0 {
        return None;
    }
    T::arbitrary_take_rest(Unstructured::new(bytes)).ok()
}
