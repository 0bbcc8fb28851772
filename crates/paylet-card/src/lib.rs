//! Card-number logic with no I/O, so the widget (wasm32) and the server (native)
//! agree on what a card number is.
//!
//! What the widget calls slices strings with `get`/`split_at_checked` and
//! builds them without `format!`: a slice that can panic, or `format!`, links
//! core's panic and formatting code into every shopper's download (some 4 KB
//! brotli, BENCHMARKS.md).

mod brand;
mod chars;
mod expiry;
mod number;
mod scan;

pub use brand::Brand;
pub use chars::{decimal_digits, digit_value, is_group_separator, is_ignorable};
pub use expiry::{Expiry, ExpiryError, YearMonth, format_expiry};
pub use number::{digits, format_number, is_complete, luhn_valid};
pub use scan::{Found, find_card_numbers, mask_card_numbers};
