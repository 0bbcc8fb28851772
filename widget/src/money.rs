//! Formats money for shoppers with the browser's own locale rules.

use paylet_api::{Money, MoneyError};

use crate::i18n::Locale;
use crate::json;

/// `$25.00`, `25,00 $US`, `¥500`: Intl.NumberFormat in the shopper's language.
pub fn format(money: Money, locale: Locale) -> String {
    let exponent = money.currency().exponent();
    #[allow(clippy::cast_precision_loss)] // amounts beyond 2^53 minor units are not shown to shoppers
    let value = money.amount() as f64 / 10f64.powi(i32::try_from(exponent).unwrap_or(2));
    let options = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&options, &"style".into(), &"currency".into());
    let _ = js_sys::Reflect::set(&options, &"currency".into(), &money.currency().code().into());
    let formatter = js_sys::Intl::NumberFormat::new(&js_sys::Array::of1(&locale.tag().into()), &options);
    formatter.format().call1(&formatter, &value.into()).ok().and_then(|v| v.as_string()).unwrap_or_else(|| plain(money))
}

/// `19.99 USD`: `Money`'s `Display`, without `core::fmt`.
fn plain(money: Money) -> String {
    let digits = json::decimal(money.amount().unsigned_abs());
    let exponent = usize::try_from(money.currency().exponent()).unwrap_or(2);
    let padded = ["0".repeat((exponent + 1).saturating_sub(digits.len())), digits].concat();
    // Never `None` (`padded` has more digits than `exponent`); `split_at` would
    // link core's panic formatting in.
    let (whole, fraction) = padded.split_at_checked(padded.len() - exponent).unwrap_or((&padded, ""));
    let point = if exponent == 0 { "" } else { "." };
    [whole, point, fraction, " ", money.currency().code()].concat()
}

/// `MoneyError`'s `Display`, without `core::fmt`.
pub fn error_text(error: &MoneyError) -> String {
    match error {
        MoneyError::UnknownCurrency(code) => ["`", code, "` is not an ISO 4217 currency code"].concat(),
        MoneyError::CurrencyMismatch(a, b) => {
            ["amounts in ", a.code(), " and ", b.code(), " cannot be combined"].concat()
        }
        MoneyError::Overflow => "amount is too large".into(),
        MoneyError::Negative => "amount must not be negative".into(),
        MoneyError::InvalidAmount(text) => ["`", text, "` is not an amount in this currency"].concat(),
    }
}

#[cfg(test)]
mod tests {
    use paylet_api::Currency;

    use super::*;

    #[test]
    fn plain_and_error_texts_match_display() {
        for (amount, code) in [(1999, "USD"), (5, "USD"), (0, "USD"), (500, "JPY"), (1250, "KWD"), (7, "CLF")] {
            let money = Money::new(amount, Currency::parse(code).unwrap()).unwrap();
            assert_eq!(plain(money), money.to_string());
        }
        let (usd, eur) = (Currency::parse("USD").unwrap(), Currency::parse("EUR").unwrap());
        for error in [
            MoneyError::UnknownCurrency("XYZ".into()),
            MoneyError::CurrencyMismatch(usd, eur),
            MoneyError::Overflow,
            MoneyError::Negative,
            MoneyError::InvalidAmount("1e3".into()),
        ] {
            assert_eq!(error_text(&error), error.to_string());
        }
    }
}
