//! The card-number guard's scanner on any text, as the server's guard feeds
//! it (the bytes as sent, lossily decoded, and URL-decoded as a form), and the
//! widget's card helpers. Never a panic; every number found is a run of 13 to
//! 19 digits that passes Luhn and has a brand's prefix and length, on char
//! boundaries, in order; masking keeps the text's length and everything but
//! those digits, and leaves nothing the scanner would find.
#![no_main]

use libfuzzer_sys::fuzz_target;
use paylet_card::{
    Brand, Expiry, YearMonth, digits, find_card_numbers, format_expiry, format_number, is_complete, luhn_valid,
    mask_card_numbers,
};

/// Months the expiry parser is asked about: now-ish, and the extremes.
const TODAYS: [YearMonth; 3] =
    [YearMonth { year: 2026, month: 5 }, YearMonth { year: 0, month: 0 }, YearMonth { year: u16::MAX, month: u8::MAX }];

fn scan(text: &str) {
    let found = find_card_numbers(text);
    let mut previous_end = 0;
    for f in &found {
        assert!(previous_end <= f.start && f.start < f.end && f.end <= text.len(), "{found:?}");
        assert!(text.is_char_boundary(f.start) && text.is_char_boundary(f.end));
        previous_end = f.end;
        let run = &text[f.start..f.end];
        assert!(run.bytes().all(|b| b.is_ascii_digit() || b == b' ' || b == b'-'), "{run:?}");
        let number = digits(run);
        assert!((13..=19).contains(&number.len()), "{run:?}");
        assert!(luhn_valid(&number) && is_complete(&number), "{run:?}");
        assert!(Brand::detect(&number).is_some_and(|b| b.lengths().contains(&number.len())));
    }
    let masked = mask_card_numbers(text);
    assert_eq!(masked.len(), text.len());
    assert!(find_card_numbers(&masked).is_empty(), "masking left a number: {masked:?}");
    for (i, (a, b)) in text.bytes().zip(masked.bytes()).enumerate() {
        let inside = found.iter().any(|f| (f.start..f.end).contains(&i));
        assert!(a == b || (inside && a.is_ascii_digit() && b == b'*'), "byte {i} changed: {a} -> {b}");
    }
    if found.is_empty() {
        assert_eq!(masked, text);
    }
}

fuzz_target!(|bytes: &[u8]| {
    // What the guard looks at: the bytes as sent, then URL-decoded.
    let text = String::from_utf8_lossy(bytes);
    scan(&text);
    for (key, value) in form_urlencoded::parse(bytes) {
        scan(&key);
        scan(&value);
    }

    // The widget's helpers on what a shopper might type.
    let number = digits(&text);
    let formatted = format_number(&text);
    assert!(digits(&formatted).len() <= number.len().min(19));
    let _ = is_complete(&number);
    let _ = Brand::detect(&number);
    let formatted = format_expiry(&text);
    assert!(formatted.len() <= 7, "{formatted:?}");
    for today in TODAYS {
        if let Ok(expiry) = Expiry::parse(&text, today) {
            assert!((1..=12).contains(&expiry.month));
            assert!((YearMonth { year: expiry.year, month: expiry.month }) >= today);
        }
    }
});
