use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("`{0}` is not an ISO 4217 currency code")]
    UnknownCurrency(String),
    #[error("amounts in {0} and {1} cannot be combined")]
    CurrencyMismatch(Currency, Currency),
    #[error("amount is too large")]
    Overflow,
    #[error("amount must not be negative")]
    Negative,
    #[error("`{0}` is not an amount in this currency")]
    InvalidAmount(String),
}

/// Active ISO 4217 codes with their number of minor-unit digits. Codes absent from
/// the zero- and three-digit lists below have two.
const CURRENCIES: &str = "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB \
BOV BRL BSD BTN BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUP CVE CZK DJF DKK DOP DZD \
EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD \
JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU \
MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB \
RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS \
UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG";
const ZERO_DECIMAL: &str = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF";
const THREE_DECIMAL: &str = "BHD IQD JOD KWD LYD OMR TND";
const FOUR_DECIMAL: &str = "CLF UYW";

/// An ISO 4217 currency, always upper case.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency([u8; 3]);

impl Currency {
    /// Accepts the code in either case (Stripe sends `usd`, Square `USD`).
    pub fn parse(code: &str) -> Result<Currency, MoneyError> {
        let upper = code.to_ascii_uppercase();
        match upper.as_bytes() {
            [a, b, c] if CURRENCIES.split(' ').any(|k| k == upper) => Ok(Currency([*a, *b, *c])),
            _ => Err(MoneyError::UnknownCurrency(code.chars().take(8).collect())),
        }
    }

    pub fn code(&self) -> &str {
        // Only ASCII upper-case letters are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }

    /// Digits after the decimal point: USD 2, JPY 0, KWD 3.
    pub fn exponent(&self) -> u32 {
        let code = self.code();
        let listed = |list: &str| list.split(' ').any(|k| k == code);
        if listed(ZERO_DECIMAL) {
            0
        } else if listed(THREE_DECIMAL) {
            3
        } else if listed(FOUR_DECIMAL) {
            4
        } else {
            2
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Currency({})", self.code())
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Currency::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// An amount in the currency's minor units (cents, yen, fils). Never a float.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawMoney")]
pub struct Money {
    amount: i64,
    currency: Currency,
}

#[derive(Deserialize)]
struct RawMoney {
    amount: i64,
    currency: Currency,
}

impl TryFrom<RawMoney> for Money {
    type Error = MoneyError;
    fn try_from(raw: RawMoney) -> Result<Money, MoneyError> {
        Money::new(raw.amount, raw.currency)
    }
}

impl Money {
    /// A non-negative amount; prices, totals and refunds are never below zero.
    pub fn new(amount: i64, currency: Currency) -> Result<Money, MoneyError> {
        if amount < 0 {
            return Err(MoneyError::Negative);
        }
        Ok(Money { amount, currency })
    }

    /// Parses a decimal amount as people write it (`25`, `25.5`, `25.50`) into
    /// minor units, exactly: no floating point, and no more decimals than the
    /// currency has.
    pub fn parse_decimal(text: &str, currency: Currency) -> Result<Money, MoneyError> {
        let bad = || MoneyError::InvalidAmount(text.chars().take(32).collect());
        let text = text.trim();
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        let exp = usize::try_from(currency.exponent()).map_err(|_| bad())?;
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty()
            || !digits(whole)
            || !digits(fraction)
            || fraction.len() > exp
            || (text.contains('.') && fraction.is_empty())
        {
            return Err(bad());
        }
        let padded = format!("{whole}{fraction:0<exp$}");
        let amount: i64 = padded.parse().map_err(|_| MoneyError::Overflow)?;
        Money::new(amount, currency)
    }

    pub fn zero(currency: Currency) -> Money {
        Money { amount: 0, currency }
    }

    pub fn amount(&self) -> i64 {
        self.amount
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }

    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::CurrencyMismatch(self.currency, other.currency));
        }
        let amount = self.amount.checked_add(other.amount).ok_or(MoneyError::Overflow)?;
        Ok(Money { amount, ..self })
    }

    /// `self - other`; a negative result is an error, as money never goes below zero.
    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::CurrencyMismatch(self.currency, other.currency));
        }
        let amount = self.amount.checked_sub(other.amount).ok_or(MoneyError::Overflow)?;
        Money::new(amount, self.currency)
    }

    pub fn checked_mul(self, quantity: u32) -> Result<Money, MoneyError> {
        let amount = self.amount.checked_mul(i64::from(quantity)).ok_or(MoneyError::Overflow)?;
        Ok(Money { amount, ..self })
    }
}

/// `19.99 USD`, `500 JPY`, `1.250 KWD`: unambiguous, for logs and the CLI. The
/// widget formats for shoppers with the browser's locale rules instead.
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let exp = self.currency.exponent();
        if exp == 0 {
            return write!(f, "{} {}", self.amount, self.currency);
        }
        let scale = 10u64.pow(exp);
        let abs = self.amount.unsigned_abs();
        let sign = if self.amount < 0 { "-" } else { "" };
        let width = usize::try_from(exp).unwrap_or(2);
        write!(f, "{sign}{}.{:0width$} {}", abs / scale, abs % scale, self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn usd() -> Currency {
        Currency::parse("USD").unwrap()
    }

    #[test]
    fn currency_codes_are_case_insensitive_and_checked() {
        assert_eq!(Currency::parse("eur").unwrap().code(), "EUR");
        assert!(Currency::parse("XYZ").is_err());
        assert!(Currency::parse("US").is_err());
        assert!(Currency::parse("USD ").is_err());
    }

    #[test]
    fn exponents_follow_iso_4217() {
        assert_eq!(Currency::parse("JPY").unwrap().exponent(), 0);
        assert_eq!(usd().exponent(), 2);
        assert_eq!(Currency::parse("KWD").unwrap().exponent(), 3);
    }

    #[test]
    fn display_places_the_decimal_point_by_currency() {
        let m = |a, c: &str| Money::new(a, Currency::parse(c).unwrap()).unwrap().to_string();
        assert_eq!(m(1999, "USD"), "19.99 USD");
        assert_eq!(m(5, "USD"), "0.05 USD");
        assert_eq!(m(500, "JPY"), "500 JPY");
        assert_eq!(m(1250, "KWD"), "1.250 KWD");
    }

    #[test]
    fn decimal_amounts_parse_exactly() {
        let m = |t: &str, c: &str| Money::parse_decimal(t, Currency::parse(c).unwrap()).map(|m| m.amount());
        assert_eq!(m("25", "USD"), Ok(2500));
        assert_eq!(m("25.5", "USD"), Ok(2550));
        assert_eq!(m("0.07", "USD"), Ok(7));
        assert_eq!(m("500", "JPY"), Ok(500));
        assert_eq!(m("1.250", "KWD"), Ok(1250));
        for bad in ["25.555", "-1", "1e3", "", ".5", "5.", "2 5", "25,00"] {
            assert!(m(bad, "USD").is_err(), "{bad}");
        }
        assert!(m("5.5", "JPY").is_err());
        assert_eq!(m("99999999999999999999", "USD"), Err(MoneyError::Overflow));
    }

    #[test]
    fn negative_amounts_are_refused() {
        assert_eq!(Money::new(-1, usd()), Err(MoneyError::Negative));
    }

    #[test]
    fn mixing_currencies_is_an_error() {
        let a = Money::new(1, usd()).unwrap();
        let b = Money::new(1, Currency::parse("EUR").unwrap()).unwrap();
        assert!(matches!(a.checked_add(b), Err(MoneyError::CurrencyMismatch(..))));
    }

    #[test]
    fn overflow_is_an_error_not_a_wrap() {
        let big = Money::new(i64::MAX / 2 + 1, usd()).unwrap();
        assert_eq!(big.checked_mul(2), Err(MoneyError::Overflow));
        assert_eq!(big.checked_add(big), Err(MoneyError::Overflow));
    }

    #[test]
    fn subtracting_never_goes_below_zero() {
        let (five, three) = (Money::new(500, usd()).unwrap(), Money::new(300, usd()).unwrap());
        assert_eq!(five.checked_sub(three).unwrap().amount(), 200);
        assert_eq!(three.checked_sub(five), Err(MoneyError::Negative));
    }

    #[test]
    fn deserializing_checks_the_amount() {
        assert!(serde_json::from_str::<Money>(r#"{"amount":-5,"currency":"USD"}"#).is_err());
    }

    #[test]
    fn serializes_as_amount_and_currency() {
        let m = Money::new(1999, usd()).unwrap();
        assert_eq!(serde_json::to_string(&m).unwrap(), r#"{"amount":1999,"currency":"USD"}"#);
    }

    proptest! {
        #[test]
        fn checked_mul_matches_wide_arithmetic(amount in 0i64..i64::MAX, qty in any::<u32>()) {
            let wide = i128::from(amount) * i128::from(qty);
            let got = Money::new(amount, usd()).unwrap().checked_mul(qty);
            match i64::try_from(wide) {
                Ok(v) => prop_assert_eq!(got.map(|m| m.amount()), Ok(v)),
                Err(_) => prop_assert_eq!(got, Err(MoneyError::Overflow)),
            }
        }
    }
}
