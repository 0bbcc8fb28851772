//! The card-number guard's scanner on any text, as the server's guard feeds
//! it (the bytes as sent, lossily decoded, and URL-decoded as a form), and the
//! widget's card helpers. Never a panic; every number found is a run of 13 to
//! 19 digits (of any script) that passes Luhn and has a brand's prefix and
//! length, on char boundaries, in order, holding nothing but digits, group
//! separators and invisible characters; masking keeps every character but
//! digits, turns each digit it masks into one `*` and masks only in a stretch
//! of digits and separators where a number was found, masks every number's
//! digits but the last four (and keeps the last four of the last number in a
//! stretch), and leaves nothing the scanner would find.

use paylet_card::{
    Brand, Expiry, Found, YearMonth, decimal_digits, digit_value, digits, find_card_numbers, format_expiry,
    format_number, is_complete, is_group_separator, is_ignorable, luhn_valid, mask_card_numbers,
};

/// Months the expiry parser is asked about: now-ish, and the extremes.
const TODAYS: [YearMonth; 3] =
    [YearMonth { year: 2026, month: 5 }, YearMonth { year: 0, month: 0 }, YearMonth { year: u16::MAX, month: u8::MAX }];

/// The `card_scan` property on one input.
pub fn card_scan(bytes: &[u8]) {
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
}

/// What the scanner finds in `text`, and what masking makes of it.
pub fn scan(text: &str) {
    let found = find_card_numbers(text);
    let mut previous_end = 0;
    for f in &found {
        assert!(previous_end <= f.start && f.start < f.end && f.end <= text.len(), "{found:?}");
        assert!(text.is_char_boundary(f.start) && text.is_char_boundary(f.end));
        previous_end = f.end;
        let run = &text[f.start..f.end];
        assert!(run.chars().all(|c| digit_value(c).is_some() || is_group_separator(c) || is_ignorable(c)), "{run:?}");
        assert!(run.chars().next().and_then(digit_value).is_some(), "{run:?}");
        assert!(run.chars().next_back().and_then(digit_value).is_some(), "{run:?}");
        let number = decimal_digits(run);
        assert!((13..=19).contains(&number.len()), "{run:?}");
        assert!(luhn_valid(&number) && is_complete(&number), "{run:?}");
        assert!(Brand::detect(&number).is_some_and(|b| b.lengths().contains(&number.len())));
    }
    let masked = mask_card_numbers(text);
    assert!(find_card_numbers(&masked).is_empty(), "masking left a number: {masked:?}");
    if found.is_empty() {
        assert_eq!(masked, text);
    }
    check_masking(text, &found, &masked);
}

/// What masking may change: `masked` has the characters of `text`, but digits
/// turned into `*`, each in a stretch of digits, separators and invisible
/// characters that holds a number found; every number's digits are masked but
/// its last four, and the last four of the last number in a stretch are kept.
pub fn check_masking(text: &str, found: &[Found], masked: &str) {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let after: Vec<char> = masked.chars().collect();
    assert_eq!(chars.len(), after.len(), "masking changed the number of characters: {masked:?}");
    // The stretch each character is in, if it is a digit, a separator or
    // invisible; and whether a number was found in that stretch.
    let mut stretch: Vec<Option<usize>> = Vec::with_capacity(chars.len());
    let mut count = 0;
    for (i, &(_, c)) in chars.iter().enumerate() {
        let part = digit_value(c).is_some() || is_group_separator(c) || is_ignorable(c);
        if part && (i == 0 || stretch[i - 1].is_none()) {
            count += 1;
        }
        stretch.push(part.then_some(count));
    }
    let index = |at: usize| chars.partition_point(|&(b, _)| b < at);
    let with_number: Vec<Option<usize>> = found.iter().map(|f| stretch[index(f.start)]).collect();
    for (i, (&(at, c), &m)) in chars.iter().zip(&after).enumerate() {
        let allowed = digit_value(c).is_some() && m == '*' && with_number.contains(&stretch[i]);
        assert!(c == m || allowed, "{text:?}: char {i} (byte {at}) {c:?} became {m:?} in {masked:?}");
    }
    for (n, f) in found.iter().enumerate() {
        let digits: Vec<usize> =
            (index(f.start)..index(f.end)).filter(|&i| digit_value(chars[i].1).is_some()).collect();
        let (head, last_four) = digits.split_at(digits.len().saturating_sub(4));
        for &i in head {
            assert_eq!(after[i], '*', "{text:?}: a digit of {f:?} kept in {masked:?}");
        }
        let last_in_stretch = found.get(n + 1).is_none_or(|next| stretch[index(next.start)] != stretch[index(f.start)]);
        if last_in_stretch {
            for &i in last_four {
                assert_eq!(after[i], chars[i].1, "{text:?}: a last four digit of {f:?} masked in {masked:?}");
            }
        }
    }
}
