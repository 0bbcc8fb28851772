//! The sandbox's shopper-facing pages (3-D Secure challenges, hosted checkouts):
//! plain HTML forms, labelled, with no script, so they work in any browser and
//! inside a modal iframe.

use axum::response::Html;
use paylet_api::Currency;

pub(crate) fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{title}</title>\
<style>body{{font:16px/1.4 system-ui,sans-serif;color:#1c1f26;max-width:28rem;margin:2rem auto;padding:0 1rem}}\
.badge{{display:inline-block;font-size:.75rem;background:#fff3cd;color:#5c4400;padding:2px 8px;border-radius:4px}}\
label{{display:block;margin:.75rem 0 .25rem}}input{{width:100%;box-sizing:border-box;padding:.5rem;font:inherit;border:1px solid #8a8f99;border-radius:6px}}\
button{{font:inherit;padding:.6rem 1rem;margin:1rem .5rem 0 0;border-radius:6px;border:0;background:#1f5f46;color:#fff;cursor:pointer}}\
button.secondary{{background:#5b2a2a}}.error{{color:#a4161a}}table{{width:100%;border-collapse:collapse}}td{{padding:.25rem 0}}\
td.amount{{text-align:right}}</style></head><body><p class=\"badge\">Paylet Sandbox: test mode, no real money moves</p>\
<h1>{title}</h1>{body}</body></html>"
    ))
}

/// A hidden form field carrying `value` on to the page's POST, if there is one.
pub(crate) fn hidden(name: &str, value: Option<&str>) -> String {
    value.map(|v| format!("<input type=\"hidden\" name=\"{name}\" value=\"{}\">", escape(v))).unwrap_or_default()
}

pub(crate) fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// `25.00 USD` for a shopper reading a test page.
pub(crate) fn amount(minor: i64, currency: &str) -> String {
    let exp = Currency::parse(currency).map_or(2, |c| c.exponent());
    if exp == 0 {
        return format!("{minor} {}", currency.to_uppercase());
    }
    let scale = 10i64.pow(exp);
    let width = usize::try_from(exp).unwrap_or(2);
    format!("{}.{:0width$} {}", minor / scale, (minor % scale).abs(), currency.to_uppercase())
}

/// The card fields of a hosted payment page.
pub(crate) fn card_fields(error: Option<&str>, email: Option<&str>) -> String {
    let error = error.map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e))).unwrap_or_default();
    let email = email.map(escape).unwrap_or_default();
    format!(
        "{error}<label for=\"email\">Email</label><input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"email\" value=\"{email}\">\
<label for=\"number\">Card number</label><input id=\"number\" name=\"number\" inputmode=\"numeric\" autocomplete=\"cc-number\" required>\
<label for=\"expiry\">Expiry (MM / YY)</label><input id=\"expiry\" name=\"expiry\" inputmode=\"numeric\" autocomplete=\"cc-exp\" required>\
<label for=\"cvc\">Security code</label><input id=\"cvc\" name=\"cvc\" inputmode=\"numeric\" autocomplete=\"cc-csc\">"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_follow_the_currency() {
        assert_eq!(amount(2500, "usd"), "25.00 USD");
        assert_eq!(amount(500, "JPY"), "500 JPY");
        assert_eq!(amount(1250, "kwd"), "1.250 KWD");
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(escape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
    }
}
