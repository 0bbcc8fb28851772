use crate::Brand;

/// The ASCII digits of `input`, dropping spaces, dashes and anything else a
/// shopper might type or paste between them.
pub fn digits(input: &str) -> String {
    input.chars().filter(char::is_ascii_digit).collect()
}

/// The Luhn (mod 10) check every card number carries in its last digit.
/// `number` must be digits only; anything else fails the check.
pub fn luhn_valid(number: &str) -> bool {
    if number.len() < 2 || !number.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let sum: u32 = number
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Groups the digits of `input` the way the card's brand prints them
/// (4-4-4-4-3, Amex 4-6-5, Diners 4-6-4), capped at the brand's longest length.
pub fn format_number(input: &str) -> String {
    let digits = digits(input);
    let brand = Brand::detect(&digits);
    let max_len = brand.map_or(19, |b| b.max_length());
    let digits = digits.get(..max_len).unwrap_or(&digits);
    let gaps = brand.map_or(&[4, 8, 12, 16][..], |b| b.gaps());

    let mut out = String::with_capacity(digits.len() + gaps.len());
    for (i, c) in digits.chars().enumerate() {
        if gaps.contains(&i) {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// True when `number` (digits only) has a length its brand issues and passes Luhn:
/// the widget's test before it lets the shopper pay.
pub fn is_complete(number: &str) -> bool {
    Brand::detect(number).is_some_and(|b| b.lengths().contains(&number.len())) && luhn_valid(number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn luhn_accepts_known_test_cards() {
        for n in [
            "4242424242424242",
            "4000000000000002",
            "5555555555554444",
            "378282246310005",
            "6011111111111117",
            "3566002020360505",
            "30569309025904",
            "6200000000000005",
        ] {
            assert!(luhn_valid(n), "{n}");
        }
    }

    #[test]
    fn luhn_rejects_a_wrong_check_digit_and_non_digits() {
        assert!(!luhn_valid("4242424242424241"));
        assert!(!luhn_valid("4242 4242 4242 4242"));
        assert!(!luhn_valid(""));
        assert!(!luhn_valid("0"));
    }

    #[test]
    fn digits_drops_separators() {
        assert_eq!(digits("4242 4242-4242 4242"), "4242424242424242");
    }

    #[test]
    fn format_groups_by_brand() {
        assert_eq!(format_number("4242424242424242"), "4242 4242 4242 4242");
        assert_eq!(format_number("378282246310005"), "3782 822463 10005");
        assert_eq!(format_number("30569309025904"), "3056 930902 5904");
        assert_eq!(format_number("42424"), "4242 4");
        // Visa issues 19 digits: grouped 4-4-4-4-3 and capped there.
        assert_eq!(format_number("4242424242424242999"), "4242 4242 4242 4242 999");
        assert_eq!(format_number(" 4242 4242 4242 4242 99999"), "4242 4242 4242 4242 999");
        // Amex stops at 15.
        assert_eq!(format_number("3782822463100051"), "3782 822463 10005");
    }

    #[test]
    fn complete_needs_brand_length_and_luhn() {
        assert!(is_complete("4242424242424242"));
        assert!(is_complete("378282246310005"));
        assert!(!is_complete("424242424242424"));
        assert!(!is_complete("4242424242424241"));
        assert!(!is_complete("9999999999999995"));
    }

    /// Appends the digit that makes `body` pass Luhn.
    fn with_check_digit(body: &str) -> String {
        (0..10).map(|d| format!("{body}{d}")).find(|n| luhn_valid(n)).unwrap()
    }

    proptest! {
        #[test]
        fn exactly_one_check_digit_is_valid(body in "[0-9]{12,18}") {
            let valid = (0..10).filter(|d| luhn_valid(&format!("{body}{d}"))).count();
            prop_assert_eq!(valid, 1);
        }

        #[test]
        fn any_single_digit_change_breaks_luhn(body in "[0-9]{12,18}", pos in any::<prop::sample::Index>(), delta in 1u8..10) {
            let number = with_check_digit(&body);
            let mut bytes = number.into_bytes();
            let i = pos.index(bytes.len());
            bytes[i] = b'0' + (bytes[i] - b'0' + delta) % 10;
            prop_assert!(!luhn_valid(&String::from_utf8(bytes).unwrap()));
        }

        #[test]
        fn formatting_keeps_the_digits(input in "[0-9 -]{0,30}") {
            let formatted = format_number(&input);
            let all = digits(&input);
            // Every digit kept, up to the longest number the brand issues.
            let max_len = Brand::detect(&all).map_or(19, |b| b.max_length());
            prop_assert_eq!(digits(&formatted), &all[..all.len().min(max_len)]);
            // Single spaces between groups only.
            prop_assert!(formatted.chars().all(|c| c.is_ascii_digit() || c == ' '));
            prop_assert!(!formatted.starts_with(' ') && !formatted.ends_with(' ') && !formatted.contains("  "));
        }
    }
}
