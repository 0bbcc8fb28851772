/// A calendar month; the widget passes today's from the browser clock, so this
/// crate never reads a clock itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct YearMonth {
    pub year: u16,
    pub month: u8,
}

/// A card's expiry month. A card is good through the last day of that month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expiry {
    pub month: u8,
    /// Four-digit year.
    pub year: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpiryError {
    Incomplete,
    InvalidMonth,
    Expired,
    TooFarAhead,
}

impl Expiry {
    /// Parses what a shopper types: `MM/YY`, `MM / YY`, `MMYY` or `MM/YYYY`.
    pub fn parse(input: &str, today: YearMonth) -> Result<Expiry, ExpiryError> {
        let digits = crate::digits(input);
        let (mm, yy) = match digits.len() {
            4 | 6 => digits.split_at_checked(2).ok_or(ExpiryError::Incomplete)?,
            _ => return Err(ExpiryError::Incomplete),
        };
        let month: u8 = mm.parse().map_err(|_| ExpiryError::Incomplete)?;
        if !(1..=12).contains(&month) {
            return Err(ExpiryError::InvalidMonth);
        }
        let year: u16 = yy.parse().map_err(|_| ExpiryError::Incomplete)?;
        let year = if yy.len() == 2 { 2000 + year } else { year };
        let expiry = Expiry { month, year };
        if (YearMonth { year, month }) < today {
            return Err(ExpiryError::Expired);
        }
        // Networks issue cards for at most about 20 years; more is a typo.
        if year > today.year + 20 {
            return Err(ExpiryError::TooFarAhead);
        }
        Ok(expiry)
    }
}

/// Formats expiry input as the shopper types: inserts the slash after the month
/// and a leading zero for months 2 to 9 typed as one digit.
pub fn format_expiry(input: &str) -> String {
    let mut digits = crate::digits(input);
    if digits.len() == 1 && digits.as_bytes()[0] > b'1' {
        digits.insert(0, '0');
    }
    digits.truncate(4);
    match digits.split_at_checked(2) {
        Some((month, year)) => [month, " / ", year].concat(),
        None => digits,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: YearMonth = YearMonth { year: 2026, month: 11 };

    #[test]
    fn parses_common_spellings() {
        let want = Ok(Expiry { month: 12, year: 2030 });
        assert_eq!(Expiry::parse("12/30", NOW), want);
        assert_eq!(Expiry::parse("12 / 30", NOW), want);
        assert_eq!(Expiry::parse("1230", NOW), want);
        assert_eq!(Expiry::parse("12/2030", NOW), want);
    }

    #[test]
    fn the_current_month_is_still_valid() {
        assert_eq!(Expiry::parse("11/26", NOW), Ok(Expiry { month: 11, year: 2026 }));
        assert_eq!(Expiry::parse("10/26", NOW), Err(ExpiryError::Expired));
    }

    #[test]
    fn rejects_bad_months_and_partial_input() {
        assert_eq!(Expiry::parse("13/30", NOW), Err(ExpiryError::InvalidMonth));
        assert_eq!(Expiry::parse("00/30", NOW), Err(ExpiryError::InvalidMonth));
        assert_eq!(Expiry::parse("1/3", NOW), Err(ExpiryError::Incomplete));
        assert_eq!(Expiry::parse("12/99", NOW), Err(ExpiryError::TooFarAhead));
    }

    #[test]
    fn formats_as_typed() {
        assert_eq!(format_expiry("4"), "04 / ");
        assert_eq!(format_expiry("1"), "1");
        assert_eq!(format_expiry("12"), "12 / ");
        assert_eq!(format_expiry("1230"), "12 / 30");
        assert_eq!(format_expiry("12/301"), "12 / 30");
    }
}
