/// A card network the widget recognises from the number's leading digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(rename_all = "snake_case"))]
pub enum Brand {
    Visa,
    Mastercard,
    Amex,
    Discover,
    Jcb,
    DinersClub,
    UnionPay,
}

impl Brand {
    pub const ALL: [Brand; 7] =
        [Brand::Visa, Brand::Mastercard, Brand::Amex, Brand::Discover, Brand::Jcb, Brand::DinersClub, Brand::UnionPay];

    /// The brand whose issuer ranges contain the start of `digits` (digits only).
    /// Ranges follow the networks' published IIN tables; the more specific
    /// ranges are tested first so that, say, Discover's 622126-622925 wins over
    /// UnionPay's 62.
    pub fn detect(digits: &str) -> Option<Brand> {
        let prefix = |n: usize| -> Option<u32> { digits.get(..n)?.parse().ok() };
        let in_range = |n: usize, lo: u32, hi: u32| prefix(n).is_some_and(|p| (lo..=hi).contains(&p));

        if in_range(2, 34, 34) || in_range(2, 37, 37) {
            Some(Brand::Amex)
        } else if in_range(4, 6011, 6011) || in_range(6, 622126, 622925) || in_range(3, 644, 649) || in_range(2, 65, 65)
        {
            Some(Brand::Discover)
        } else if in_range(4, 3528, 3589) {
            Some(Brand::Jcb)
        } else if in_range(3, 300, 305) || in_range(2, 36, 36) || in_range(2, 38, 39) || in_range(4, 3095, 3095) {
            Some(Brand::DinersClub)
        } else if in_range(2, 51, 55) || in_range(4, 2221, 2720) {
            Some(Brand::Mastercard)
        } else if in_range(2, 62, 62) || in_range(2, 81, 81) {
            Some(Brand::UnionPay)
        } else if in_range(1, 4, 4) {
            Some(Brand::Visa)
        } else {
            None
        }
    }

    /// Lengths the brand issues.
    pub fn lengths(self) -> &'static [usize] {
        match self {
            Brand::Visa => &[13, 16, 19],
            Brand::Mastercard => &[16],
            Brand::Amex => &[15],
            Brand::Discover | Brand::Jcb | Brand::UnionPay => &[16, 17, 18, 19],
            Brand::DinersClub => &[14, 16, 19],
        }
    }

    pub fn max_length(self) -> usize {
        self.lengths().iter().copied().max().unwrap_or(19)
    }

    /// Positions before which a space is shown when the number is formatted.
    pub fn gaps(self) -> &'static [usize] {
        match self {
            Brand::Amex | Brand::DinersClub => &[4, 10],
            _ => &[4, 8, 12, 16],
        }
    }

    pub fn cvc_length(self) -> usize {
        match self {
            Brand::Amex => 4,
            _ => 3,
        }
    }

    /// The name a shopper knows the brand by.
    pub fn display_name(self) -> &'static str {
        match self {
            Brand::Visa => "Visa",
            Brand::Mastercard => "Mastercard",
            Brand::Amex => "American Express",
            Brand::Discover => "Discover",
            Brand::Jcb => "JCB",
            Brand::DinersClub => "Diners Club",
            Brand::UnionPay => "UnionPay",
        }
    }

    /// A stable lowercase identifier (for CSS classes and icons).
    pub fn id(self) -> &'static str {
        match self {
            Brand::Visa => "visa",
            Brand::Mastercard => "mastercard",
            Brand::Amex => "amex",
            Brand::Discover => "discover",
            Brand::Jcb => "jcb",
            Brand::DinersClub => "diners",
            Brand::UnionPay => "unionpay",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_each_brand_from_its_test_numbers() {
        let cases = [
            ("4242424242424242", Brand::Visa),
            ("5555555555554444", Brand::Mastercard),
            ("2223003122003222", Brand::Mastercard),
            ("378282246310005", Brand::Amex),
            ("371449635398431", Brand::Amex),
            ("6011111111111117", Brand::Discover),
            ("6221260000000000", Brand::Discover),
            ("3566002020360505", Brand::Jcb),
            ("30569309025904", Brand::DinersClub),
            ("36227206271667", Brand::DinersClub),
            ("6200000000000005", Brand::UnionPay),
        ];
        for (number, brand) in cases {
            assert_eq!(Brand::detect(number), Some(brand), "{number}");
        }
    }

    #[test]
    fn detects_early_from_a_prefix() {
        assert_eq!(Brand::detect("4"), Some(Brand::Visa));
        assert_eq!(Brand::detect("37"), Some(Brand::Amex));
        assert_eq!(Brand::detect("3"), None);
        assert_eq!(Brand::detect(""), None);
        assert_eq!(Brand::detect("9"), None);
    }

    #[test]
    fn amex_has_a_four_digit_cvc_and_others_three() {
        assert_eq!(Brand::Amex.cvc_length(), 4);
        assert_eq!(Brand::Visa.cvc_length(), 3);
    }
}
