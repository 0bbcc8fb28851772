//! The card fields: number (grouped as the brand prints it), expiry and CVC,
//! with the browser hints that make autofill and numeric keypads work.

use leptos::prelude::*;
use paylet_card::{Brand, Expiry, ExpiryError, YearMonth, digits, format_expiry, format_number, is_complete};
use wasm_bindgen::JsCast;

use crate::gateway::CardField;
use crate::i18n::{Texts, fill};
use crate::json::{self, invalid};

/// The fields' values and errors. `Copy`, so handlers can capture it freely.
#[derive(Clone, Copy)]
pub struct CardState {
    pub number: RwSignal<String>,
    pub expiry: RwSignal<String>,
    pub cvc: RwSignal<String>,
    pub number_error: RwSignal<Option<String>>,
    pub expiry_error: RwSignal<Option<String>>,
    pub cvc_error: RwSignal<Option<String>>,
}

impl CardState {
    pub fn new() -> CardState {
        CardState {
            number: RwSignal::new(String::new()),
            expiry: RwSignal::new(String::new()),
            cvc: RwSignal::new(String::new()),
            number_error: RwSignal::new(None),
            expiry_error: RwSignal::new(None),
            cvc_error: RwSignal::new(None),
        }
    }

    fn brand(&self) -> Option<Brand> {
        Brand::detect(&digits(&self.number.get()))
    }

    /// Checks every field, shows what is wrong, and returns the card when all is
    /// well.
    pub fn validate(&self, t: &Texts) -> Option<(String, Expiry, String)> {
        let number = self.check_number(t);
        let expiry = self.check_expiry(t);
        let cvc = self.check_cvc(t);
        Some((number?, expiry?, cvc?))
    }

    fn check_number(&self, t: &Texts) -> Option<String> {
        let number = digits(&self.number.get_untracked());
        let error = if number.is_empty() {
            Some(t.number_missing)
        } else if !is_complete(&number) {
            Some(t.number_invalid)
        } else {
            None
        };
        self.number_error.set(error.map(str::to_owned));
        error.is_none().then_some(number)
    }

    fn check_expiry(&self, t: &Texts) -> Option<Expiry> {
        let expiry = Expiry::parse(&self.expiry.get_untracked(), today());
        self.expiry_error.set(expiry.err().map(|e| {
            match e {
                ExpiryError::Incomplete => t.expiry_incomplete,
                ExpiryError::InvalidMonth => t.expiry_month,
                ExpiryError::Expired => t.expiry_past,
                ExpiryError::TooFarAhead => t.expiry_year,
            }
            .to_owned()
        }));
        expiry.ok()
    }

    fn check_cvc(&self, t: &Texts) -> Option<String> {
        let cvc = self.cvc.get_untracked();
        let cvc_len = self.brand_untracked().map_or(3, Brand::cvc_length);
        let ok = cvc.len() == cvc_len && cvc.bytes().all(|b| b.is_ascii_digit());
        self.cvc_error.set((!ok).then(|| fill(t.cvc_length, &json::decimal(cvc_len as u64))));
        ok.then_some(cvc)
    }

    fn brand_untracked(&self) -> Option<Brand> {
        Brand::detect(&digits(&self.number.get_untracked()))
    }

    pub fn clear_errors(&self) {
        self.number_error.set(None);
        self.expiry_error.set(None);
        self.cvc_error.set(None);
    }

    pub fn set_error(&self, field: CardField, message: String) {
        match field {
            CardField::Number => self.number_error.set(Some(message)),
            CardField::Expiry => self.expiry_error.set(Some(message)),
            CardField::Cvc => self.cvc_error.set(Some(message)),
        }
    }
}

fn today() -> YearMonth {
    let now = js_sys::Date::new_0();
    YearMonth {
        year: u16::try_from(now.get_full_year()).unwrap_or(2000),
        month: u8::try_from(now.get_month() + 1).unwrap_or(1),
    }
}

/// Moves focus to the field with `id`: the next field once one is complete.
fn focus(id: &str) {
    let element = web_sys::window().and_then(|w| w.document()).and_then(|d| d.get_element_by_id(id));
    if let Some(input) = element.and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok()) {
        let _ = input.focus();
    }
}

#[component]
pub fn PayletCardFields(state: CardState, t: &'static Texts, #[prop(into)] disabled: Signal<bool>) -> impl IntoView {
    let brand = Memo::new(move |_| state.brand());
    let cvc_len = move || brand.get().map_or(3, Brand::cvc_length);
    // Checks a field when the shopper leaves it, if they typed anything.
    let on_blur = move |value: RwSignal<String>, check: fn(&CardState, &Texts)| {
        move |_| {
            if !value.get_untracked().is_empty() {
                check(&state, t);
            }
        }
    };

    view! {
        <fieldset class="card">
            <legend>{t.card}</legend>
            <div class="field">
                <label for="card-number">{t.card_number}</label>
                <div class="with-brand">
                    <input
                        id="card-number"
                        name="cardnumber"
                        type="text"
                        inputmode="numeric"
                        autocomplete="cc-number"
                        placeholder="1234 1234 1234 1234"
                        aria-invalid=invalid(state.number_error)
                        aria-describedby="card-number-error"
                        prop:value=state.number
                        prop:disabled=disabled
                        on:input=move |ev| {
                            let formatted = format_number(&event_target_value(&ev));
                            let number = digits(&formatted);
                            // Complete at the brand's longest length, or at 16 (what
                            // nearly every Visa, Mastercard and UnionPay card has).
                            let full = Brand::detect(&number)
                                .is_some_and(|b| number.len() == b.max_length() || number.len() == 16);
                            state.number.set(formatted);
                            state.number_error.set(None);
                            if full && is_complete(&number) {
                                focus("card-expiry");
                            }
                        }
                        on:blur=on_blur(state.number, |s, t| {
                            s.check_number(t);
                        })
                    />
                    <span class="brand" data-brand=move || brand.get().map_or("", Brand::id)>
                        {move || brand.get().map_or("", Brand::display_name)}
                    </span>
                </div>
                <p id="card-number-error" class="error" aria-live="polite">{state.number_error}</p>
            </div>
            <div class="row">
                <div class="field">
                    <label for="card-expiry">{t.expiry}</label>
                    <input
                        id="card-expiry"
                        name="exp-date"
                        type="text"
                        inputmode="numeric"
                        autocomplete="cc-exp"
                        placeholder="MM / YY"
                        aria-invalid=invalid(state.expiry_error)
                        aria-describedby="card-expiry-error"
                        prop:value=state.expiry
                        prop:disabled=disabled
                        on:input=move |ev| {
                            let value = event_target_value(&ev);
                            // Deleting the slash must not re-add it straight away.
                            let deleting = value.len() < state.expiry.get_untracked().len();
                            let value = if deleting { value } else { format_expiry(&value) };
                            let complete = !deleting && digits(&value).len() == 4;
                            state.expiry.set(value);
                            state.expiry_error.set(None);
                            if complete {
                                focus("card-cvc");
                            }
                        }
                        on:blur=on_blur(state.expiry, |s, t| {
                            s.check_expiry(t);
                        })
                    />
                    <p id="card-expiry-error" class="error" aria-live="polite">{state.expiry_error}</p>
                </div>
                <div class="field">
                    <label for="card-cvc">{t.cvc}</label>
                    <input
                        id="card-cvc"
                        name="cvc"
                        type="text"
                        inputmode="numeric"
                        autocomplete="cc-csc"
                        placeholder=move || "0".repeat(cvc_len())
                        maxlength=move || json::decimal(cvc_len() as u64)
                        aria-invalid=invalid(state.cvc_error)
                        aria-describedby="card-cvc-error"
                        prop:value=state.cvc
                        prop:disabled=disabled
                        on:input=move |ev| {
                            let mut cvc = digits(&event_target_value(&ev));
                            cvc.truncate(cvc_len());
                            state.cvc.set(cvc);
                            state.cvc_error.set(None);
                        }
                        on:blur=on_blur(state.cvc, |s, t| {
                            s.check_cvc(t);
                        })
                    />
                    <p id="card-cvc-error" class="error" aria-live="polite">{state.cvc_error}</p>
                </div>
            </div>
        </fieldset>
    }
}
