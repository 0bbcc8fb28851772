//! How the card-number scanner reads characters: which are digits (in any
//! script), which separate groups of digits, and which are invisible and so
//! skipped. Small sorted tables rather than a Unicode crate, as this crate
//! also ships in the widget's wasm.

/// The first code point (value 0) of every block of ten decimal digits,
/// general category Nd, Unicode 17.0 (the version of `char::UNICODE_VERSION`
/// in Rust 1.95). Every Nd digit is in one of these blocks, in order 0 to 9.
/// Generated with the `unicodedata2` 17.0.0 package for Python, which also
/// checked that each block is ten Nd characters valued 0 to 9 and that they
/// cover every Nd character:
///
/// ```text
/// [cp for cp in range(0x110000)
///  if unicodedata2.category(chr(cp)) == "Nd" and unicodedata2.decimal(chr(cp)) == 0]
/// ```
const ND_ZEROS: [u32; 77] = [
    0x30, 0x660, 0x6F0, 0x7C0, 0x966, 0x9E6, 0xA66, 0xAE6, 0xB66, 0xBE6, 0xC66, 0xCE6, 0xD66, 0xDE6, 0xE50, 0xED0,
    0xF20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90, 0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620,
    0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10, 0x104A0, 0x10D30, 0x10D40, 0x11066, 0x110F0, 0x11136,
    0x111D0, 0x112F0, 0x11450, 0x114D0, 0x11650, 0x116C0, 0x116D0, 0x116DA, 0x11730, 0x118E0, 0x11950, 0x11BF0,
    0x11C50, 0x11D50, 0x11DA0, 0x11DE0, 0x11F50, 0x16130, 0x16A60, 0x16AC0, 0x16B50, 0x16D70, 0x1CCF0, 0x1D7CE,
    0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6, 0x1E140, 0x1E2F0, 0x1E4F0, 0x1E5F1, 0x1E950, 0x1FBF0,
];

/// Characters a reader does not see as characters of their own, so that
/// digits with them in between read as one number: every format character
/// (general category Cf: zero-width space and joiners, soft hyphen, word
/// joiner, BOM, direction marks and overrides, tags), every
/// Default_Ignorable_Code_Point (adds the Hangul fillers, variation selectors
/// and the combining grapheme joiner), and the combining marks that attach to
/// any character, a digit included (Combining Diacritical Marks and their
/// Extended and Supplement blocks, the marks for symbols with the keycap
/// U+20E3, the half marks). Generated from `unicodedata2` 17.0.0 (Cf) and
/// DerivedCoreProperties.txt (Default_Ignorable_Code_Point), plus those five
/// blocks whole, merged into sorted ranges.
const IGNORABLE: [(char, char); 29] = [
    ('\u{AD}', '\u{AD}'),
    ('\u{300}', '\u{36F}'),
    ('\u{600}', '\u{605}'),
    ('\u{61C}', '\u{61C}'),
    ('\u{6DD}', '\u{6DD}'),
    ('\u{70F}', '\u{70F}'),
    ('\u{890}', '\u{891}'),
    ('\u{8E2}', '\u{8E2}'),
    ('\u{115F}', '\u{1160}'),
    ('\u{17B4}', '\u{17B5}'),
    ('\u{180B}', '\u{180F}'),
    ('\u{1AB0}', '\u{1AFF}'),
    ('\u{1DC0}', '\u{1DFF}'),
    ('\u{200B}', '\u{200F}'),
    ('\u{202A}', '\u{202E}'),
    ('\u{2060}', '\u{206F}'),
    ('\u{20D0}', '\u{20FF}'),
    ('\u{3164}', '\u{3164}'),
    ('\u{FE00}', '\u{FE0F}'),
    ('\u{FE20}', '\u{FE2F}'),
    ('\u{FEFF}', '\u{FEFF}'),
    ('\u{FFA0}', '\u{FFA0}'),
    ('\u{FFF0}', '\u{FFFB}'),
    ('\u{110BD}', '\u{110BD}'),
    ('\u{110CD}', '\u{110CD}'),
    ('\u{13430}', '\u{1343F}'),
    ('\u{1BCA0}', '\u{1BCA3}'),
    ('\u{1D173}', '\u{1D17A}'),
    ('\u{E0000}', '\u{E0FFF}'),
];

/// The value of `c` if it is a decimal digit of any script (general category
/// Nd: ASCII, full-width, Arabic-Indic, Devanagari, Thai, mathematical bold
/// …). Not superscripts, fractions or Roman numerals (No, Nl), which are not
/// written as the digits of a number.
pub fn digit_value(c: char) -> Option<u8> {
    if c.is_ascii() {
        return c.is_ascii_digit().then(|| c as u8 - b'0');
    }
    let cp = u32::from(c);
    let block = ND_ZEROS.partition_point(|&zero| zero <= cp).checked_sub(1)?;
    u8::try_from(cp - ND_ZEROS[block]).ok().filter(|&v| v < 10)
}

/// The decimal digits of `text`, each in any script, as ASCII digits.
pub fn decimal_digits(text: &str) -> String {
    text.chars().filter_map(digit_value).map(|v| char::from(b'0' + v)).collect()
}

/// Whether the scanner skips `c` as if it were not there (see [`IGNORABLE`]).
pub fn is_ignorable(c: char) -> bool {
    c >= '\u{AD}' && {
        let at = IGNORABLE.partition_point(|&(_, last)| last < c);
        IGNORABLE.get(at).is_some_and(|&(first, _)| first <= c)
    }
}

/// How a character between digits can separate groups of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Separator {
    /// A tab or any space separator (general category Zs: the ASCII space,
    /// no-break, en, em, thin, figure, narrow no-break, ideographic …).
    Space,
    /// A dash.
    Dash,
    /// A dot.
    Dot,
}

/// The kind of separator `c` is, if any.
///
/// Dashes: ASCII `-`, the Unicode hyphens and dashes U+2010–U+2015, the minus
/// sign U+2212, the small and full-width hyphen-minus (U+FE58, U+FE63,
/// U+FF0D), and the prolonged sound mark U+30FC (and its half-width U+FF70)
/// that Japanese input methods type for `-`. Dots: `.`, the one dot leader
/// U+2024, the small and full-width full stops (U+FE52, U+FF0E), the
/// ideographic full stop U+3002 (and U+FF61) that the same input methods type
/// for `.`, and the middle dots U+00B7, U+2027, U+30FB, U+FF65.
pub(crate) fn separator(c: char) -> Option<Separator> {
    match c {
        ' ' | '\t' | '\u{A0}' | '\u{1680}' | '\u{2000}'..='\u{200A}' | '\u{202F}' | '\u{205F}' | '\u{3000}' => {
            Some(Separator::Space)
        }
        '-' | '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE58}' | '\u{FE63}' | '\u{FF0D}' | '\u{30FC}' | '\u{FF70}' => {
            Some(Separator::Dash)
        }
        '.' | '\u{2024}' | '\u{FE52}' | '\u{FF0E}' | '\u{3002}' | '\u{FF61}' | '\u{B7}' | '\u{2027}' | '\u{30FB}'
        | '\u{FF65}' => Some(Separator::Dot),
        _ => None,
    }
}

/// Whether `c` may stand between two groups of a card number's digits (on
/// its own, or a dash or dot with a space on either side).
pub fn is_group_separator(c: char) -> bool {
    separator(c).is_some()
}

/// Part of a word or an id: a letter, a digit or a number sign of any script,
/// or `_`.
pub(crate) fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_of_every_script_have_their_values() {
        for (text, value) in [
            ("0123456789", "0123456789"),
            ("０１２３４５６７８９", "0123456789"), // full-width
            ("٠١٢٣٤٥٦٧٨٩", "0123456789"),           // Arabic-Indic
            ("۰۱۲۳۴۵۶۷۸۹", "0123456789"),           // Extended Arabic-Indic (Persian)
            ("०१२३४५६७८९", "0123456789"),           // Devanagari
            ("০১২৩৪৫৬৭৮৯", "0123456789"),           // Bengali
            ("๐๑๒๓๔๕๖๗๘๙", "0123456789"),           // Thai
            ("𝟎𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖𝟗", "0123456789"),           // mathematical bold
            ("𝟶𝟷𝟸𝟹𝟺𝟻𝟼𝟽𝟾𝟿", "0123456789"),           // mathematical monospace
            ("\u{1FBF0}\u{1FBF9}", "09"),           // segmented digits
            ("²³¹½Ⅻ①⑽", ""),                        // No and Nl: not digits
            ("abc٫,.-", ""),
        ] {
            assert_eq!(decimal_digits(text), value, "{text}");
        }
    }

    #[test]
    fn every_table_digit_is_numeric_and_nothing_past_a_block_is_a_digit() {
        for zero in ND_ZEROS {
            for v in 0..10 {
                let c = char::from_u32(zero + v).unwrap_or_default();
                assert!(c.is_numeric(), "{zero:#x}+{v}");
                assert_eq!(digit_value(c), u8::try_from(v).ok());
            }
        }
        // Digits in Rust's view that are not Nd (No, Nl) and the characters
        // either side of the blocks are not digits here.
        let digits = (0..=0x10FFFF).filter_map(char::from_u32).filter(|&c| digit_value(c).is_some()).count();
        assert_eq!(digits, ND_ZEROS.len() * 10);
    }

    #[test]
    fn invisible_characters_are_ignorable_and_visible_ones_not() {
        for c in
            ['\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{FEFF}', '\u{AD}', '\u{20E3}', '\u{FE0F}', '\u{E0041}']
        {
            assert!(is_ignorable(c), "{:#x}", u32::from(c));
        }
        for c in ['a', '4', ' ', '-', '.', '\u{A0}', '\u{AC}', '\u{AE}', '\u{2010}', '*', '\u{10FFFF}'] {
            assert!(!is_ignorable(c), "{:#x}", u32::from(c));
        }
    }
}
