//! Property tests of the card-number guard's scanner: any text never panics
//! and gives sane ranges; every valid number of every brand and length,
//! spelled with spaces or dashes anywhere between its digits and set in any
//! text, is found exactly where it is; and masking leaves nothing to find.
//! The `card_scan` fuzz target in `fuzz/` checks the same for longer.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use paylet_card::{Found, digits, find_card_numbers, is_complete, luhn_valid, mask_card_numbers};
use proptest::prelude::*;

/// Issuer ranges (low and high prefix, same number of digits) and the
/// lengths issued there, for every brand the guard knows.
const RANGES: [(u32, u32, &[usize]); 17] = [
    (4, 4, &[13, 16, 19]),
    (51, 55, &[16]),
    (2221, 2720, &[16]),
    (34, 34, &[15]),
    (37, 37, &[15]),
    (6011, 6011, &[16, 17, 18, 19]),
    (622126, 622925, &[16, 17, 18, 19]),
    (644, 649, &[16, 17, 18, 19]),
    (65, 65, &[16, 17, 18, 19]),
    (3528, 3589, &[16, 17, 18, 19]),
    (300, 305, &[14, 16, 19]),
    (36, 36, &[14, 16, 19]),
    (38, 39, &[14, 16, 19]),
    (3095, 3095, &[14, 16, 19]),
    (62, 62, &[16, 17, 18, 19]),
    (81, 81, &[16, 17, 18, 19]),
    (4, 4, &[16]),
];

/// A valid card number: a prefix from a brand's range, random digits, and the
/// Luhn check digit, at a length that brand issues.
fn card_number() -> impl Strategy<Value = String> {
    (0..RANGES.len(), any::<prop::sample::Index>(), any::<u32>(), proptest::collection::vec(0u8..10, 19)).prop_map(
        |(range, length, pick, body)| {
            let (lo, hi, lengths) = RANGES[range];
            let prefix = (lo + pick % (hi - lo + 1)).to_string();
            let len = lengths[length.index(lengths.len())];
            let mut digits = prefix;
            digits.extend(body.iter().map(|d| char::from(b'0' + d)));
            digits.truncate(len - 1);
            (b'0'..=b'9').map(|c| format!("{digits}{}", char::from(c))).find(|n| luhn_valid(n)).unwrap()
        },
    )
}

/// `number` with a space or a dash (or nothing) between its digits, chosen
/// gap by gap from `gaps`: 0 and 1 nothing, 2 a space, 3 a dash.
fn spell(number: &str, gaps: &[u8]) -> String {
    let mut out = String::new();
    for (i, c) in number.chars().enumerate() {
        if i > 0 {
            match gaps[i % gaps.len()] % 4 {
                2 => out.push(' '),
                3 => out.push('-'),
                _ => {}
            }
        }
        out.push(c);
    }
    out
}

/// Checks what the scanner found in `text` and what masking left of it.
fn check_scan(text: &str) -> Vec<Found> {
    let found = find_card_numbers(text);
    let mut previous_end = 0;
    for f in &found {
        assert!(previous_end <= f.start && f.start < f.end && f.end <= text.len(), "{text:?}: {found:?}");
        previous_end = f.end;
        let run = &text[f.start..f.end];
        assert!(run.bytes().all(|b| b.is_ascii_digit() || b == b' ' || b == b'-'), "{run:?}");
        assert!(is_complete(&digits(run)), "{run:?}");
    }
    let masked = mask_card_numbers(text);
    assert_eq!(masked.len(), text.len());
    assert_eq!(find_card_numbers(&masked), vec![], "masking {text:?} left a number: {masked:?}");
    for (i, (a, b)) in text.bytes().zip(masked.bytes()).enumerate() {
        let inside = found.iter().any(|f| (f.start..f.end).contains(&i));
        assert!(a == b || (inside && a.is_ascii_digit() && b == b'*'), "{text:?} byte {i}: {masked:?}");
    }
    found
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_text_is_scanned_and_masked_without_panicking(text in "\\PC{0,300}") {
        check_scan(&text);
    }

    #[test]
    fn any_bytes_as_the_guard_reads_them(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        check_scan(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn digit_heavy_text_is_scanned_and_masked(text in "[0-9 \\-+_a-zA-Z]{0,120}") {
        // Mostly digits and separators: many near-miss runs.
        check_scan(&text);
    }

    #[test]
    fn every_valid_number_in_any_text_is_found_where_it_is(
        number in card_number(),
        gaps in proptest::collection::vec(any::<u8>(), 1..20),
        before in "\\PC{0,40}",
        open in prop::sample::select(vec!["", "\"", ":", "=", "(", "[", "{", ",", "\n", "\t", "/", ">", "'", "#", "*"]),
        close in prop::sample::select(vec!["", "\"", ",", ".", ";", "}", ")", "]", "\n", "&", "/", "<", "'", "!", "?"]),
        after in "\\PC{0,40}",
    ) {
        prop_assert!(is_complete(&number), "{}", number);
        let spelled = spell(&number, &gaps);
        // Text right before or after may only be a delimiter: `open` and
        // `close`, or the text's own start and end.
        let before = if open.is_empty() { String::new() } else { format!("{before}{open}") };
        let after = if close.is_empty() { String::new() } else { format!("{close}{after}") };
        let text = format!("{before}{spelled}{after}");
        let found = check_scan(&text);
        let here = Found { start: before.len(), end: before.len() + spelled.len() };
        prop_assert!(found.contains(&here), "{:?} not found in {:?}: {:?}", spelled, text, found);
        let masked = mask_card_numbers(&text);
        let kept = &masked[here.start..here.end];
        prop_assert_eq!(digits(kept), &number[number.len() - 4..]);
        prop_assert_eq!(kept.matches('*').count(), number.len() - 4);
    }

    #[test]
    fn several_numbers_in_a_body_are_all_found_and_all_masked(
        numbers in proptest::collection::vec(card_number(), 1..5),
        gaps in proptest::collection::vec(any::<u8>(), 1..20),
        words in proptest::collection::vec("[a-z ]{0,10}", 5),
    ) {
        let fields: Vec<String> =
            numbers.iter().zip(&words).map(|(n, w)| format!(r#""{w}":"{}""#, spell(n, &gaps))).collect();
        let body = format!("{{{}}}", fields.join(","));
        prop_assert_eq!(check_scan(&body).len(), numbers.len(), "{}", body);
        let masked = mask_card_numbers(&body);
        for n in &numbers {
            prop_assert!(!digits(&masked).contains(&n[..n.len() - 4]), "{}", masked);
        }
    }
}
