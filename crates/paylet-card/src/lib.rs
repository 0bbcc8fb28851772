//! Card-number logic with no I/O, so the widget (wasm32) and the server (native)
//! agree on what a card number is.

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
