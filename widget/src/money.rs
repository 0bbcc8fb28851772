//! Formats money for shoppers with the browser's own locale rules.

use paylet_api::Money;

use crate::i18n::Locale;

/// `$25.00`, `25,00 $US`, `¥500`: Intl.NumberFormat in the shopper's language.
pub fn format(money: Money, locale: Locale) -> String {
    let exponent = money.currency().exponent();
    #[allow(clippy::cast_precision_loss)] // amounts beyond 2^53 minor units are not shown to shoppers
    let value = money.amount() as f64 / 10f64.powi(i32::try_from(exponent).unwrap_or(2));
    let options = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&options, &"style".into(), &"currency".into());
    let _ = js_sys::Reflect::set(&options, &"currency".into(), &money.currency().code().into());
    let formatter = js_sys::Intl::NumberFormat::new(&js_sys::Array::of1(&locale.tag().into()), &options);
    formatter
        .format()
        .call1(&formatter, &value.into())
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_else(|| money.to_string())
}
