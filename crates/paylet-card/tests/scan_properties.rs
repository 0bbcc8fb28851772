//! Property tests of the card-number guard's scanner: any text never panics
//! and gives sane ranges; every valid number of every brand and length,
//! spelled with spaces or dashes anywhere between its digits and set in any
//! text, is found exactly where it is; so is every one written in digits of
//! any script (mixed too), with any separator people type between its groups
//! and invisible characters anywhere between its digits; and masking leaves
//! nothing to find. The `card_scan` fuzz target in `fuzz/` checks the same
//! for longer.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use paylet_card::{
    Brand, Found, decimal_digits, digit_value, find_card_numbers, is_complete, is_group_separator, is_ignorable,
    luhn_valid, mask_card_numbers,
};
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

/// `groups` joined by a space or a dash each, chosen by `gaps`.
fn spell_groups(groups: &[String], gaps: &[u8]) -> String {
    let mut out = String::new();
    for (i, group) in groups.iter().enumerate() {
        if i > 0 {
            out.push(if gaps[i % gaps.len()].is_multiple_of(2) { ' ' } else { '-' });
        }
        out.push_str(group);
    }
    out
}

/// `body` and the digit that makes it pass Luhn.
fn with_check_digit(body: &str) -> String {
    (b'0'..=b'9').map(|c| format!("{body}{}", char::from(c))).find(|n| luhn_valid(n)).unwrap()
}

/// The zero of the digits of some scripts: ASCII, full-width, Arabic-Indic,
/// Extended Arabic-Indic, N'Ko, Devanagari, Bengali, Tamil, Thai, Lao,
/// Tibetan, Myanmar, Khmer, Mongolian, mathematical bold, double-struck,
/// sans-serif and monospace, Adlam, and segmented digits.
const ZEROS: [u32; 20] = [
    0x30, 0xFF10, 0x660, 0x6F0, 0x7C0, 0x966, 0x9E6, 0xBE6, 0xE50, 0xED0, 0xF20, 0x1040, 0x17E0, 0x1810, 0x1D7CE,
    0x1D7D8, 0x1D7E2, 0x1D7F6, 0x1E950, 0x1FBF0,
];

/// What may stand between any two groups: spaces of every width and dashes.
const ANY_GROUPS: [&str; 25] = [
    " ", "\t", "\u{A0}", "\u{1680}", "\u{2000}", "\u{2002}", "\u{2003}", "\u{2007}", "\u{2009}", "\u{200A}",
    "\u{202F}", "\u{205F}", "\u{3000}", "-", "\u{2010}", "\u{2011}", "\u{2012}", "\u{2013}", "\u{2014}", "\u{2015}",
    "\u{2212}", "\u{FE58}", "\u{FE63}", "\u{FF0D}", "\u{30FC}",
];

/// What may stand between groups as card numbers are grouped: dots, and
/// dashes and dots with a space beside them.
const CARD_GROUPS: [&str; 14] = [
    ".",
    "\u{FF0E}",
    "\u{B7}",
    "\u{2024}",
    "\u{3002}",
    "\u{30FB}",
    " - ",
    "- ",
    " -",
    " . ",
    " \u{2013} ",
    " \u{2014} ",
    " \u{2212} ",
    "\u{3000}\u{FF0D}\u{3000}",
];

/// Characters nobody sees: zero-width space, non-joiner and joiner, word
/// joiner, BOM, soft hyphen, direction marks and isolates, a variation
/// selector, a keycap, a combining accent, a tag, the Hangul filler and the
/// Mongolian vowel separator.
const INVISIBLE: [&str; 16] = [
    "\u{200B}",
    "\u{200C}",
    "\u{200D}",
    "\u{2060}",
    "\u{FEFF}",
    "\u{AD}",
    "\u{200E}",
    "\u{200F}",
    "\u{2066}",
    "\u{FE0F}",
    "\u{FE0F}\u{20E3}",
    "\u{301}",
    "\u{E0041}",
    "\u{3164}",
    "\u{180E}",
    "\u{202E}",
];

/// `number` as people write it: digit `i` in script `scripts[i]` (cycled);
/// where its brand prints a gap (or every four digits), a separator picked
/// by `separators` (one of `CARD_GROUPS` only where the groups are long
/// enough for it, else of `ANY_GROUPS`), or none; and between digits (before
/// or after a separator) invisible characters as `hidden` picks them.
fn write(number: &str, scripts: &[usize], separators: &[usize], hidden: &[usize]) -> String {
    let digits: Vec<u32> = number.bytes().map(|b| u32::from(b - b'0')).collect();
    let gaps: Vec<usize> = Brand::detect(number).map_or(&[4, 8, 12, 16][..], |b| b.gaps()).to_vec();
    let gaps: Vec<usize> = gaps.into_iter().filter(|&g| g < digits.len()).collect();
    let mut out = String::new();
    for (i, &d) in digits.iter().enumerate() {
        let hide = |k: usize| {
            let pick = hidden[(i + k) % hidden.len()];
            if pick.is_multiple_of(3) { INVISIBLE[pick / 3 % INVISIBLE.len()] } else { "" }
        };
        if i > 0 {
            out.push_str(hide(0));
            if let Some(g) = gaps.iter().position(|&g| g == i) {
                let group_before = i - if g == 0 { 0 } else { gaps[g - 1] };
                let group_after = gaps.get(g + 1).copied().unwrap_or(digits.len()) - i;
                let pick = separators[i % separators.len()];
                out.push_str(match pick % 3 {
                    0 => "",
                    1 if group_before >= 4 && group_after >= 3 => CARD_GROUPS[pick / 3 % CARD_GROUPS.len()],
                    _ => ANY_GROUPS[pick / 3 % ANY_GROUPS.len()],
                });
            }
            out.push_str(hide(1));
        }
        out.push(char::from_u32(ZEROS[scripts[i % scripts.len()]] + d).unwrap());
    }
    out
}

/// Checks what the scanner found in `text` and what masking left of it.
fn check_scan(text: &str) -> Vec<Found> {
    let found = find_card_numbers(text);
    let mut previous_end = 0;
    for f in &found {
        assert!(previous_end <= f.start && f.start < f.end && f.end <= text.len(), "{text:?}: {found:?}");
        assert!(text.is_char_boundary(f.start) && text.is_char_boundary(f.end), "{text:?}: {found:?}");
        previous_end = f.end;
        let run = &text[f.start..f.end];
        assert!(run.chars().all(|c| digit_value(c).is_some() || is_group_separator(c) || is_ignorable(c)), "{run:?}");
        assert!(run.chars().next().and_then(digit_value).is_some(), "{run:?}");
        assert!(run.chars().next_back().and_then(digit_value).is_some(), "{run:?}");
        assert!(is_complete(&decimal_digits(run)), "{run:?}");
    }
    let masked = mask_card_numbers(text);
    assert_eq!(find_card_numbers(&masked), vec![], "masking {text:?} left a number: {masked:?}");
    assert_eq!(mask_card_numbers(&masked), masked);
    // Character by character: only digits change, each into one `*`, and
    // only in a stretch of digits and separators that holds a number.
    let chars: Vec<char> = text.chars().collect();
    let after: Vec<char> = masked.chars().collect();
    assert_eq!(chars.len(), after.len(), "{text:?}: {masked:?}");
    let in_stretch = |c: char| digit_value(c).is_some() || is_group_separator(c) || is_ignorable(c);
    let starts: Vec<usize> = found.iter().map(|f| text[..f.start].chars().count()).collect();
    for (i, (&a, &b)) in chars.iter().zip(&after).enumerate() {
        if a == b {
            continue;
        }
        let (mut lo, mut hi) = (i, i);
        while lo > 0 && in_stretch(chars[lo - 1]) {
            lo -= 1;
        }
        while hi + 1 < chars.len() && in_stretch(chars[hi + 1]) {
            hi += 1;
        }
        let holds_a_number = starts.iter().any(|s| (lo..=hi).contains(s));
        assert!(digit_value(a).is_some() && b == '*' && holds_a_number, "{text:?} char {i}: {masked:?}");
    }
    for (f, &start) in found.iter().zip(&starts) {
        let end = start + text[f.start..f.end].chars().count();
        let digits: Vec<usize> = (start..end).filter(|&i| digit_value(chars[i]).is_some()).collect();
        for &i in &digits[..digits.len() - 4] {
            assert_eq!(after[i], '*', "{text:?}: a digit of {f:?} kept in {masked:?}");
        }
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
    fn digit_heavy_text_of_every_kind_is_scanned_and_masked(
        text in "[0-9０-９٠-٩०-९ \\-.．·\u{2002}\u{202F}\u{3000}\u{2013}\u{FF0D}\u{200B}\u{AD}\u{FE0F}+_a-zＡ]{0,120}",
    ) {
        // Digits of several scripts, every kind of separator, invisible
        // characters and letters.
        check_scan(&text);
    }

    #[test]
    fn every_valid_number_in_any_text_is_found_where_it_is(
        number in card_number(),
        gaps in proptest::collection::vec(any::<u8>(), 1..20),
        before in "\\PC{0,40}",
        // Not a space, tab or dash: with digits before it, it would join
        // them to the number.
        open in prop::sample::select(vec!["", "\"", ":", "=", "(", "[", "{", ",", "\n", "/", ">", "'", "#", "*"]),
        close in prop::sample::select(vec!["", "\"", ",", ".", ";", "}", ")", "]", "\n", "&", "/", "<", "'", "!", "?"]),
        after in "\\PC{0,40}",
    ) {
        prop_assert!(is_complete(&number), "{}", number);
        let spelled = spell(&number, &gaps);
        // Text right before or after may only be a delimiter: `open` and
        // `close`, or the text's own start and end.
        let before = if open.is_empty() { String::new() } else { format!("{before}{open}") };
        let after = if close.is_empty() { String::new() } else { format!("{close}{after}") };
        // A dot followed by digits may join them to the number.
        let digit_after = after.chars().skip(1).find(|&c| !is_ignorable(c)).and_then(digit_value).is_some();
        prop_assume!(close != "." || !digit_after);
        let text = format!("{before}{spelled}{after}");
        let found = check_scan(&text);
        let here = Found { start: before.len(), end: before.len() + spelled.len() };
        prop_assert!(found.contains(&here), "{:?} not found in {:?}: {:?}", spelled, text, found);
        let masked = mask_card_numbers(&text);
        let start = text[..here.start].chars().count();
        let kept: String = masked.chars().skip(start).take(spelled.len()).collect();
        prop_assert_eq!(decimal_digits(&kept), &number[number.len() - 4..]);
        prop_assert_eq!(kept.matches('*').count(), number.len() - 4);
    }

    #[test]
    fn every_valid_number_however_written_is_found_once_and_masked(
        number in card_number(),
        scripts in proptest::collection::vec(0..ZEROS.len(), 1..6),
        separators in proptest::collection::vec(any::<usize>(), 1..6),
        hidden in proptest::collection::vec(any::<usize>(), 1..8),
        before in "([a-z =]{0,10}[ =:\"{,(])?",
        after in "([ =:\"},.)][a-z =]{0,10})?",
    ) {
        let written = write(&number, &scripts, &separators, &hidden);
        let text = format!("{before}{written}{after}");
        let found = check_scan(&text);
        let here = Found { start: before.len(), end: before.len() + written.len() };
        prop_assert_eq!(found, vec![here], "{:?}", text);
        let masked = mask_card_numbers(&text);
        prop_assert_eq!(decimal_digits(&masked), &number[number.len() - 4..], "{:?}", masked);
        prop_assert_eq!(masked.matches('*').count(), number.len() - 4);
        prop_assert!(masked.starts_with(&before) && masked.ends_with(&after));
    }

    /// The fuzz crash's shape: a number whose last group of four begins
    /// another number, the rest of which follows in the same run.
    #[test]
    fn numbers_sharing_a_group_are_masked_to_nothing(
        body in proptest::collection::vec(0u8..10, 26),
        gaps in proptest::collection::vec(any::<u8>(), 1..20),
        stray in ("[0-9]{0,6}", "[0-9]{0,6}"),
    ) {
        let digit = |d: &u8| char::from(b'0' + d);
        // 16 digits whose 13th is a 4, and 16 more starting with its last four.
        let first = with_check_digit(&format!("4{}4{}", body[..11].iter().map(digit).collect::<String>(),
            body[11..13].iter().map(digit).collect::<String>()));
        let second = with_check_digit(&format!("{}{}", &first[12..], body[13..].iter().map(digit).collect::<String>()));
        let fours = |n: &str| n.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>();
        let mut groups = fours(&first);
        groups.extend(fours(&second).into_iter().skip(1));
        let text = format!("{} {} {}", stray.0, spell_groups(&groups, &gaps), stray.1);
        prop_assert!(!check_scan(&text).is_empty(), "{}", text);
    }

    /// Valid numbers and stray digits run together and regrouped anyhow:
    /// masking leaves nothing to find, whatever a number shares with the
    /// groups around it.
    #[test]
    fn numbers_in_runs_of_stray_groups_are_masked_to_nothing(
        items in proptest::collection::vec(prop_oneof![card_number(), "[0-9]{1,6}"], 1..6),
        sizes in proptest::collection::vec(1usize..7, 1..10),
        gaps in proptest::collection::vec(any::<u8>(), 1..20),
    ) {
        let digits: String = items.concat();
        let mut groups = Vec::new();
        let mut at = 0;
        for size in sizes.iter().cycle() {
            if at >= digits.len() {
                break;
            }
            groups.push(digits[at..(at + size).min(digits.len())].to_owned());
            at += size;
        }
        check_scan(&spell_groups(&groups, &gaps));
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
            prop_assert!(!decimal_digits(&masked).contains(&n[..n.len() - 4]), "{}", masked);
        }
    }
}
