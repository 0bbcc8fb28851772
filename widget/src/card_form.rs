//! The card fields: number (grouped as the brand prints it), expiry and CVC,
//! with the browser hints that make autofill and numeric keypads work.

use leptos::prelude::*;
use paylet_card::{Brand, Expiry, ExpiryError, YearMonth, digits, format_expiry, format_number, is_complete};

use crate::gateway::{CardField, CardInput};

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
    pub fn validate(&self) -> Option<CardInput> {
        let number = digits(&self.number.get_untracked());
        let number_error = if number.is_empty() {
            Some("Enter your card number.")
        } else if !is_complete(&number) {
            Some("Your card number is incomplete or invalid.")
        } else {
            None
        };
        self.number_error.set(number_error.map(str::to_owned));

        let expiry = Expiry::parse(&self.expiry.get_untracked(), today());
        self.expiry_error.set(expiry.err().map(|e| {
            match e {
                ExpiryError::Incomplete => "Enter the expiry date as MM / YY.",
                ExpiryError::InvalidMonth => "The expiry month is invalid.",
                ExpiryError::Expired => "Your card has expired.",
                ExpiryError::TooFarAhead => "The expiry year is invalid.",
            }
            .to_owned()
        }));

        let cvc = self.cvc.get_untracked();
        let cvc_len = Brand::detect(&number).map_or(3, Brand::cvc_length);
        let cvc_ok = cvc.len() == cvc_len && cvc.bytes().all(|b| b.is_ascii_digit());
        self.cvc_error.set((!cvc_ok).then(|| format!("Enter the {cvc_len}-digit security code.")));

        let expiry = expiry.ok()?;
        (number_error.is_none() && cvc_ok).then_some(CardInput {
            number,
            exp_month: expiry.month,
            exp_year: expiry.year,
            cvc,
        })
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

#[component]
pub fn CardFields(state: CardState, #[prop(into)] disabled: Signal<bool>) -> impl IntoView {
    let brand = Memo::new(move |_| state.brand());
    let cvc_len = move || brand.get().map_or(3, Brand::cvc_length);

    view! {
        <fieldset class="card">
            <legend>"Card"</legend>
            <div class="field">
                <label for="card-number">"Card number"</label>
                <div class="with-brand">
                    <input
                        id="card-number"
                        name="cardnumber"
                        type="text"
                        inputmode="numeric"
                        autocomplete="cc-number"
                        placeholder="1234 1234 1234 1234"
                        aria-invalid=move || state.number_error.get().is_some().to_string()
                        aria-describedby="card-number-error"
                        prop:value=move || state.number.get()
                        prop:disabled=move || disabled.get()
                        on:input=move |ev| {
                            state.number.set(format_number(&event_target_value(&ev)));
                            state.number_error.set(None);
                        }
                    />
                    <span class="brand" data-brand=move || brand.get().map_or("", Brand::id)>
                        {move || brand.get().map_or("", Brand::display_name)}
                    </span>
                </div>
                <p id="card-number-error" class="error">{move || state.number_error.get()}</p>
            </div>
            <div class="row">
                <div class="field">
                    <label for="card-expiry">"Expiry (MM / YY)"</label>
                    <input
                        id="card-expiry"
                        name="exp-date"
                        type="text"
                        inputmode="numeric"
                        autocomplete="cc-exp"
                        placeholder="MM / YY"
                        aria-invalid=move || state.expiry_error.get().is_some().to_string()
                        aria-describedby="card-expiry-error"
                        prop:value=move || state.expiry.get()
                        prop:disabled=move || disabled.get()
                        on:input=move |ev| {
                            let value = event_target_value(&ev);
                            // Deleting the slash must not re-add it straight away.
                            let deleting = value.len() < state.expiry.get_untracked().len();
                            state.expiry.set(if deleting { value } else { format_expiry(&value) });
                            state.expiry_error.set(None);
                        }
                    />
                    <p id="card-expiry-error" class="error">{move || state.expiry_error.get()}</p>
                </div>
                <div class="field">
                    <label for="card-cvc">"Security code"</label>
                    <input
                        id="card-cvc"
                        name="cvc"
                        type="text"
                        inputmode="numeric"
                        autocomplete="cc-csc"
                        placeholder=move || "0".repeat(cvc_len())
                        maxlength=move || cvc_len().to_string()
                        aria-invalid=move || state.cvc_error.get().is_some().to_string()
                        aria-describedby="card-cvc-error"
                        prop:value=move || state.cvc.get()
                        prop:disabled=move || disabled.get()
                        on:input=move |ev| {
                            let mut cvc = digits(&event_target_value(&ev));
                            cvc.truncate(cvc_len());
                            state.cvc.set(cvc);
                            state.cvc_error.set(None);
                        }
                    />
                    <p id="card-cvc-error" class="error">{move || state.cvc_error.get()}</p>
                </div>
            </div>
        </fieldset>
    }
}
