//! A postal address: country first, so the postal code field can follow the
//! country's rules (its name, whether there is one, and its shape). The rules
//! are `paylet_api::address`'s, the same the server checks.

use std::time::Duration;

use leptos::prelude::*;
use paylet_api::Address;
use paylet_api::address::{countries, needs_postal_code};

use crate::i18n::{Locale, Texts, fill};
use crate::json::invalid;

#[derive(Clone, Copy)]
pub struct AddressState {
    country: RwSignal<String>,
    line1: RwSignal<String>,
    city: RwSignal<String>,
    postal_code: RwSignal<String>,
    line1_error: RwSignal<Option<String>>,
    city_error: RwSignal<Option<String>>,
    postal_error: RwSignal<Option<String>>,
}

impl AddressState {
    pub fn new(country: &str) -> AddressState {
        AddressState {
            country: RwSignal::new(country.to_owned()),
            line1: RwSignal::new(String::new()),
            city: RwSignal::new(String::new()),
            postal_code: RwSignal::new(String::new()),
            line1_error: RwSignal::new(None),
            city_error: RwSignal::new(None),
            postal_error: RwSignal::new(None),
        }
    }

    pub fn postal_code(&self) -> String {
        self.postal_code.get_untracked().trim().to_owned()
    }

    /// Checks the address, shows what is wrong, and returns it when all is well.
    pub fn validate(&self, t: &Texts) -> Option<Address> {
        let address = Address {
            line1: self.line1.get_untracked(),
            line2: None,
            city: self.city.get_untracked(),
            state: None,
            postal_code: self.postal_code.get_untracked(),
            country: self.country.get_untracked(),
        };
        let missing = |value: RwSignal<String>| value.get_untracked().trim().is_empty().then(|| t.field_missing.into());
        self.line1_error.set(missing(self.line1));
        self.city_error.set(missing(self.city));
        match address.checked() {
            Ok(address) => {
                self.postal_error.set(None);
                Some(address)
            }
            Err(problem) => {
                if problem.field == "postal_code" {
                    self.postal_error.set(Some(fill(t.postal_invalid, postal_label(t, &address.country))));
                }
                None
            }
        }
    }
}

fn postal_label<'a>(t: &'a Texts, country: &str) -> &'a str {
    if country == "US" { t.zip_code } else { t.postal_code }
}

/// The browser's default region (`en-US` → `US`), when it names one.
pub fn default_country() -> String {
    let languages = web_sys::window().map(|w| w.navigator().languages().to_vec()).unwrap_or_default();
    languages
        .iter()
        .filter_map(|l| l.as_string())
        .find_map(|tag| {
            let region = tag.split(['-', '_']).nth(1)?.to_ascii_uppercase();
            countries().any(|c| c == region).then_some(region)
        })
        .unwrap_or_else(|| "US".to_owned())
}

/// A country's name in the shopper's language, from `Intl.DisplayNames`
/// (`names`); its code when the browser has no name for it.
fn country_name(names: Option<&js_sys::Object>, code: &str) -> String {
    names
        .and_then(|n| {
            let of = js_sys::Reflect::get(n, &"of".into()).ok()?;
            js_sys::Function::from(of).call1(n, &code.into()).ok()?.as_string()
        })
        .unwrap_or_else(|| code.to_owned())
}

/// Country codes with their names in the shopper's language, sorted by name.
fn country_names(locale: Locale) -> Vec<(&'static str, String)> {
    let names = display_names(locale);
    let list = countries().map(|code| (code, country_name(names.as_ref(), code))).collect();
    // In the shopper's language's order ("Åland" near "Albania"), with one
    // collator: a comparison through `localeCompare` would build one each time.
    let collator = js_sys::Intl::Collator::new(&js_sys::Array::of1(&locale.tag().into()), &js_sys::Object::new());
    let compare = collator.compare();
    let before = |a: &str, b: &str| {
        let order = compare.call2(&collator, &a.into(), &b.into());
        order.ok().and_then(|o| o.as_f64()).unwrap_or(0.0) <= 0.0
    };
    merge_sort(list, &before)
}

/// A stable merge sort by name: a few hundred bytes of WASM, where the
/// standard library's sorts are several kilobytes.
fn merge_sort(
    mut list: Vec<(&'static str, String)>,
    before: &dyn Fn(&str, &str) -> bool,
) -> Vec<(&'static str, String)> {
    if list.len() < 2 {
        return list;
    }
    let right = merge_sort(list.split_off(list.len() / 2), before);
    let left = merge_sort(list, before);
    let mut merged = Vec::with_capacity(left.len() + right.len());
    let (mut left, mut right) = (left.into_iter().peekable(), right.into_iter().peekable());
    while let (Some(a), Some(b)) = (left.peek(), right.peek()) {
        let next = if before(&a.1, &b.1) { left.next() } else { right.next() };
        merged.extend(next);
    }
    merged.extend(left);
    merged.extend(right);
    merged
}

/// An `<option>`, its name escaped.
fn option_html(code: &str, name: &str) -> String {
    let name = name.replace('&', "&amp;").replace('<', "&lt;");
    ["<option value=\"", code, "\">", &name, "</option>"].concat()
}

/// `<option>`s for every country.
fn country_options(locale: Locale) -> String {
    country_names(locale).into_iter().map(|(code, name)| option_html(code, &name)).collect()
}

/// `new Intl.DisplayNames([locale], {type: "region"})`: country names from the
/// browser, so the widget carries no table of them.
fn display_names(locale: Locale) -> Option<js_sys::Object> {
    let intl = js_sys::Reflect::get(&js_sys::global(), &"Intl".into()).ok()?;
    let constructor = js_sys::Reflect::get(&intl, &"DisplayNames".into()).ok()?;
    let options = js_sys::Object::new();
    js_sys::Reflect::set(&options, &"type".into(), &"region".into()).ok()?;
    let args = js_sys::Array::of2(&js_sys::Array::of1(&locale.tag().into()), &options);
    js_sys::Reflect::construct(&constructor.into(), &args).ok().map(Into::into)
}

#[component]
pub fn AddressFields(
    state: AddressState,
    /// `billing` or `shipping`: the ids' prefix and the autocomplete section.
    kind: &'static str,
    legend: &'static str,
    t: &'static Texts,
    locale: Locale,
    #[prop(into)] disabled: Signal<bool>,
) -> impl IntoView {
    let id = move |field: &str| [kind, "-", field].concat();
    let auto = move |field: &str| [kind, " ", field].concat();
    let has_postal = move || needs_postal_code(&state.country.get());
    let text_field = move |field: &'static str,
                           label: &'static str,
                           value: RwSignal<String>,
                           error: RwSignal<Option<String>>,
                           autocomplete: &'static str| {
        let error_id = id(&[field, "-error"].concat());
        view! {
            <div class="field">
                <label for=id(field)>{label}</label>
                <input id=id(field) type="text" autocomplete=auto(autocomplete)
                    aria-invalid=invalid(error)
                    aria-describedby=error_id.clone()
                    prop:value=value
                    prop:disabled=disabled
                    on:input=move |ev| { value.set(event_target_value(&ev)); error.set(None); } />
                <p id=error_id class="error" aria-live="polite">{error}</p>
            </div>
        }
    };
    let postal_error_id = id("postal-error");
    let first = state.country.get_untracked();
    // Found by id when the timer fires: the form may have been drawn again since.
    let select_id = id("country");
    set_timeout(
        move || {
            let select = web_sys::window().and_then(|w| w.document()).and_then(|d| d.get_element_by_id(&select_id));
            let (Some(select), Some(country)) = (select, state.country.try_get_untracked()) else { return };
            if select.child_element_count() < 2 {
                select.set_inner_html(&country_options(locale));
                let _ = js_sys::Reflect::set(&select, &"value".into(), &country.into());
            }
        },
        Duration::ZERO,
    );
    view! {
        <fieldset class="address">
            <legend>{legend}</legend>
            <div class="field">
                <label for=id("country")>{t.country}</label>
                // At first only the chosen country: naming and sorting 250 of
                // them is left for just after the first render, which is what
                // the shopper waits for. Then one string of options: far
                // cheaper than 250 elements made one by one.
                <select id=id("country") autocomplete=auto("country")
                    inner_html=option_html(&first, &country_name(display_names(locale).as_ref(), &first))
                    prop:value=state.country
                    prop:disabled=disabled
                    on:change=move |ev| { state.country.set(event_target_value(&ev)); state.postal_error.set(None); }>
                </select>
            </div>
            {text_field("line1", t.address_line1, state.line1, state.line1_error, "address-line1")}
            <div class="row">
                {text_field("city", t.city, state.city, state.city_error, "address-level2")}
                <Show when=has_postal>
                    <div class="field">
                        <label for=id("postal")>{move || postal_label(t, &state.country.get()).to_owned()}</label>
                        <input id=id("postal") type="text" autocomplete=auto("postal-code")
                            aria-invalid=invalid(state.postal_error)
                            aria-describedby=postal_error_id.clone()
                            prop:value=state.postal_code
                            prop:disabled=disabled
                            on:input=move |ev| { state.postal_code.set(event_target_value(&ev)); state.postal_error.set(None); } />
                        <p id=postal_error_id.clone() class="error" aria-live="polite">{state.postal_error}</p>
                    </div>
                </Show>
            </div>
        </fieldset>
    }
}
