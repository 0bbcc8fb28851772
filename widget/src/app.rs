//! The checkout: loads the store's configuration, shows the order, takes the
//! shopper's details and card, and pays inline, after a 3-D Secure challenge,
//! or on the gateway's hosted page.

use std::pin::Pin;

use leptos::prelude::*;
use leptos::task::spawn_local;
use paylet_api::{
    CardFields, CatalogItem, CheckoutConfig, ConfirmPaymentRequest, CreateOrderRequest, CustomerInput,
    HostedSessionRequest, LineItemInput, Money, NextAction, Order, OrderStatus, PayRequest, PaymentMethod,
    PaymentResult, PublicGatewayConfig, StoreId,
};

use crate::address_form::{AddressFields, AddressState, default_country};
use crate::api::{self, ApiFailure};
use crate::card_form::{CardState, PayletCardFields};
use crate::card_sdk::{self, GatewayCardFields};
use crate::challenge::Challenge;
use crate::gateway::{self, CardField, CardInput, TokenizeError};
use crate::host::{self, Cart, Host, HostCommand, HostEvent, Params, Returned};
use crate::i18n::{Locale, Texts, fill};
use crate::json::{self, invalid};
use crate::{GATEWAY_FIELDS, money};

#[component]
pub fn App() -> impl IntoView {
    let params = host::read_params();
    let browser: Vec<String> = web_sys::window()
        .map(|w| w.navigator().languages().to_vec().iter().filter_map(|l| l.as_string()).collect())
        .unwrap_or_default();
    let snippet = params.as_ref().ok().and_then(|p| p.locale.clone());
    let locale = Locale::pick(snippet.iter().chain(&browser).map(String::as_str));
    let document = web_sys::window().and_then(|w| w.document()).and_then(|d| d.document_element());
    if let Some(root) = &document {
        let _ = root.set_attribute("lang", locale.tag());
    }
    if let (Ok(params), Some(root)) = (&params, document) {
        apply_theme(&root, &params.theme);
    }
    let t = locale.texts();
    let secure = web_sys::window().is_some_and(|w| w.is_secure_context());
    match params {
        // Card fields on a page an attacker on the network can rewrite would
        // hand them the card: refuse, and say why.
        Ok(_) if !secure => view! { <Notice message=t.insecure.to_owned() /> }.into_any(),
        Ok(params) => view! { <Loader params=params locale=locale /> }.into_any(),
        Err(message) => view! { <Notice message=message /> }.into_any(),
    }
}

/// The merchant's theme: `theme.scheme=dark` picks the dark palette; each
/// other pair sets one CSS variable, if it is one the widget offers.
fn apply_theme(root: &web_sys::Element, theme: &[(String, String)]) {
    let style = js_sys::Reflect::get(root, &"style".into()).ok().map(web_sys::CssStyleDeclaration::from);
    for (name, value) in theme {
        if name == "scheme" && value == "dark" {
            let _ = root.set_attribute("data-scheme", "dark");
        } else if let (Some((variable, value)), Some(style)) = (host::theme_variable(name, value), &style) {
            let _ = style.set_property(&variable, &value);
        }
    }
}

#[component]
fn Notice(message: String) -> impl IntoView {
    view! { <main class="paylet"><p class="notice" role="alert">{message}</p></main> }
}

#[component]
fn Loader(params: Params, locale: Locale) -> impl IntoView {
    let t = locale.texts();
    let loaded = RwSignal::new(None::<Result<(CheckoutConfig, Summary), String>>);
    let request = params.clone();
    spawn_local(async move {
        loaded.set(Some(load(&request, t).await));
    });
    move || match loaded.get() {
        None => view! { <main class="paylet"><p class="loading" aria-busy="true">{t.loading}</p></main> }.into_any(),
        Some(Err(message)) => view! { <Notice message=message /> }.into_any(),
        Some(Ok((config, summary))) => {
            view! { <Checkout config=config summary=summary params=params.clone() locale=locale /> }.into_any()
        }
    }
}

/// The store's configuration, and what this checkout sells as the shopper will see it.
async fn load(params: &Params, t: &Texts) -> Result<(CheckoutConfig, Summary), String> {
    let config = api::checkout_config(&params.store).await.map_err(|e| e.message(t))?;
    if (config.gateway.card_fields == CardFields::Gateway) != GATEWAY_FIELDS {
        // A page the browser kept from before the store changed its kind of
        // card fields: the server now serves the other build.
        return Err(if host::reload_uncached() { t.loading } else { t.method_unavailable }.into());
    }
    let summary = match &params.cart {
        Cart::Items(items) => summarize(&config.catalog, items, Money::zero(config.currency), t)?,
        Cart::Session(id) => {
            let session = api::checkout_session(id).await.map_err(|e| e.message(t))?;
            if session.store_id != config.store_id {
                return Err(t.session_other_store.into());
            }
            match session.status.as_str() {
                "open" => {}
                // Back from the hosted page, the session may already be spent.
                "complete" if params.returned.is_none() => return Err(t.already_paid.into()),
                "complete" => {}
                _ => return Err(t.expired_checkout.into()),
            }
            let lines = session
                .lines
                .into_iter()
                .map(|l| SummaryLine { name: l.name, quantity: l.quantity, total: l.total })
                .collect();
            Summary { lines, total: session.total }
        }
    };
    Ok((config, summary))
}

/// What the shopper is shown and asked to pay. Display only: the server prices
/// the order itself, and the widget refuses to pay a total it did not show.
/// Once there is an order, it is the order's own, as the server has it.
#[derive(Clone, PartialEq)]
struct Summary {
    lines: Vec<SummaryLine>,
    total: Money,
}

impl Summary {
    fn of(order: &Order) -> Summary {
        let lines = order
            .lines
            .iter()
            .map(|l| SummaryLine { name: l.name.clone(), quantity: l.quantity, total: l.total })
            .collect();
        Summary { lines, total: order.total }
    }
}

#[derive(Clone, PartialEq)]
struct SummaryLine {
    name: String,
    quantity: u32,
    total: Money,
}

fn summarize(catalog: &[CatalogItem], items: &[LineItemInput], zero: Money, t: &Texts) -> Result<Summary, String> {
    let mut total = zero;
    let mut lines = Vec::with_capacity(items.len());
    for item in items {
        let product =
            catalog.iter().find(|p| p.sku == item.sku).ok_or_else(|| fill(t.product_unavailable, &item.sku))?;
        let line_total = product.price.checked_mul(item.quantity).map_err(|e| money::error_text(&e))?;
        total = total.checked_add(line_total).map_err(|e| money::error_text(&e))?;
        lines.push(SummaryLine { name: product.name.clone(), quantity: item.quantity, total: line_total });
    }
    Ok(Summary { lines, total })
}

#[derive(Clone, Debug, PartialEq)]
enum Phase {
    Editing,
    Working,
    /// On the way to the gateway's hosted page.
    Redirecting,
    /// Back from the hosted page; waiting for the gateway's word.
    Confirming,
    Paid {
        order_id: String,
    },
    /// The order can no longer be paid (too many declines, canceled).
    Closed,
}

/// An alert for the shopper; `retry` when pressing Pay again is the remedy
/// (the network failed), so the alert offers that button itself.
#[derive(Clone, PartialEq)]
struct Alert {
    message: String,
    retry: bool,
}

/// A card's single-use token and, Square style with the gateway's fields, its
/// buyer verification.
type CardToken = (String, Option<String>);

/// Everything the pay flow reads and writes; all signals, so it is `Copy`.
#[derive(Clone, Copy)]
struct Form {
    email: RwSignal<String>,
    name: RwSignal<String>,
    email_error: RwSignal<Option<String>>,
    billing: AddressState,
    ship_to_billing: RwSignal<bool>,
    shipping: AddressState,
    card: CardState,
    alert: RwSignal<Option<Alert>>,
    phase: RwSignal<Phase>,
    summary: RwSignal<Summary>,
    /// What is being bought: the snippet's cart, until the merchant's page updates it.
    cart: StoredValue<Cart>,
    /// The 3-D Secure challenge being shown.
    challenge: RwSignal<Option<String>>,
    /// Created on the first Pay and reused by retries, so a decline and a second
    /// card do not create a second order.
    order: StoredValue<Option<Order>>,
    /// The idempotency key for creating that order; new when the cart changes.
    order_key: StoredValue<String>,
    /// A token (and its buyer verification) whose payment's answer was lost:
    /// a retry pays with the same one, which the server recognises, so the
    /// card is never charged twice.
    unanswered_token: StoredValue<Option<CardToken>>,
}

impl Form {
    fn new(summary: Summary, cart: Cart) -> Form {
        let country = default_country();
        Form {
            email: RwSignal::new(String::new()),
            name: RwSignal::new(String::new()),
            email_error: RwSignal::new(None),
            billing: AddressState::new(&country),
            ship_to_billing: RwSignal::new(true),
            shipping: AddressState::new(&country),
            card: CardState::new(),
            alert: RwSignal::new(None),
            phase: RwSignal::new(Phase::Editing),
            summary: RwSignal::new(summary),
            cart: StoredValue::new(cart),
            challenge: RwSignal::new(None),
            order: StoredValue::new(None),
            order_key: StoredValue::new(api::random_key()),
            unanswered_token: StoredValue::new(None),
        }
    }

    fn alert(&self, message: String, retry: bool) {
        self.alert.set(Some(Alert { message, retry }));
    }

    /// The cart changed on the merchant's page: a new order, same shopper.
    /// Not while paying, nor while a payment's answer is unknown: the order it
    /// may have paid must stay the one the shopper retries.
    fn change_cart(&self, items: Vec<LineItemInput>, summary: Summary) {
        let settled = self.phase.get_untracked() == Phase::Editing && self.unanswered_token.get_value().is_none();
        if !settled || summary == self.summary.get_untracked() {
            return;
        }
        self.summary.set(summary);
        self.cart.set_value(Cart::Items(items));
        self.order.set_value(None);
        self.order_key.set_value(api::random_key());
        self.alert.set(None);
    }
}

#[component]
fn Checkout(config: CheckoutConfig, summary: Summary, params: Params, locale: Locale) -> impl IntoView {
    let t = locale.texts();
    let host = Host::new(params.parent_origin.clone(), &config.allowed_origins);
    host.follow_height();
    let form = Form::new(summary, params.cart.clone());
    let flow = PayFlow {
        store: config.store_id.clone(),
        gateway: config.gateway.clone(),
        return_url: params.return_url.clone(),
        host: host.clone(),
        t,
    };

    if let Cart::Items(_) = &params.cart {
        let (catalog, currency) = (config.catalog.clone(), config.currency);
        host.listen(move |command| match command {
            HostCommand::Update { items } => {
                let priced = host::parse_items(&items)
                    .and_then(|items| Ok((summarize(&catalog, &items, Money::zero(currency), t)?, items)));
                match priced {
                    Ok((summary, items)) => form.change_cart(items, summary),
                    Err(message) => form.alert(message, false),
                }
            }
        });
    }
    if let Some(returned) = params.returned.clone() {
        let flow = flow.clone();
        spawn_local(async move { flow.back_from_hosted_page(form, returned).await });
    }
    // Ready means the shopper can type the card: with the gateway's fields,
    // once its SDK has mounted them.
    let ready = {
        let host = host.clone();
        Callback::new(move |()| host.send(&HostEvent::Ready))
    };
    if !GATEWAY_FIELDS {
        ready.run(());
    }

    let working = Signal::derive(move || form.phase.get() != Phase::Editing);
    let submit = {
        let flow = flow.clone();
        move || {
            if form.phase.get_untracked() != Phase::Editing {
                return; // a second click while paying does nothing
            }
            let flow = flow.clone();
            spawn_local(async move { flow.pay(form).await });
        }
    };
    let on_submit = {
        let submit = submit.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            submit();
        }
    };
    let on_hosted = {
        let flow = flow.clone();
        move |_| {
            if form.phase.get_untracked() != Phase::Editing {
                return;
            }
            let flow = flow.clone();
            spawn_local(async move { flow.pay_on_hosted_page(form).await });
        }
    };
    let on_challenge_done = {
        let flow = flow.clone();
        Callback::new(move |outcome: Option<Vec<(String, String)>>| {
            form.challenge.set(None);
            let flow = flow.clone();
            spawn_local(async move { flow.after_challenge(form, outcome).await });
        })
    };
    let gateway_name = config.gateway.name.clone();
    let hosted_label = fill(t.pay_on_page, &gateway_name);
    // What the page shows changes only when the order is paid or closed: the
    // form stays the same DOM while paying, as the gateway's card frames must.
    let stage = Memo::new(move |_| match form.phase.get() {
        phase @ (Phase::Paid { .. } | Phase::Closed) => phase,
        _ => Phase::Editing,
    });
    let card_fields = {
        let gateway = config.gateway.clone();
        move || {
            if GATEWAY_FIELDS {
                view! { <GatewayCardFields gateway=gateway.clone() locale=locale t=t ready=ready /> }.into_any()
            } else {
                view! { <PayletCardFields state=form.card t=t disabled=working /> }.into_any()
            }
        }
    };
    // Only where the store takes payment there, and with a page to send the
    // shopper back to.
    let hosted = params.return_url.is_some() && config.payment_methods.contains(&PaymentMethod::Hosted);

    view! {
        <main class="paylet">
            <h1 class="store">{config.store_name.clone()}</h1>
            <section class="summary" aria-label=t.order_summary>
                <ul>
                    {move || form.summary.get().lines
                        .into_iter()
                        .map(|line| {
                            view! {
                                <li>
                                    <span>{line.name} " × " {json::decimal(line.quantity.into())}</span>
                                    <span>{money::format(line.total, locale)}</span>
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
                <p class="total"><span>{t.total}</span> <span>{move || money::format(form.summary.get().total, locale)}</span></p>
            </section>
            <div class="announce" role="status" aria-live="polite">
                {move || match form.phase.get() {
                    Phase::Confirming => Some(fill(t.confirming, &gateway_name)),
                    Phase::Redirecting => Some(fill(t.redirecting, &gateway_name)),
                    _ => None,
                }}
            </div>
            {move || match stage.get() {
                Phase::Paid { order_id } => view! {
                    <section class="paid" role="status">
                        <h2>{t.paid}</h2>
                        <p>{fill(t.paid_thanks, &order_id)}</p>
                    </section>
                }.into_any(),
                Phase::Closed => view! {
                    <p class="alert" role="alert">{t.not_payable}</p>
                }.into_any(),
                _ => {
                    let submit = submit.clone();
                    view! {
                    <form on:submit=on_submit.clone() novalidate>
                        <fieldset class="contact">
                            <legend>{t.contact}</legend>
                            <div class="field">
                                <label for="email">{t.email}</label>
                                <input id="email" type="email" autocomplete="email" required
                                    aria-invalid=invalid(form.email_error)
                                    aria-describedby="email-error"
                                    prop:value=form.email
                                    prop:disabled=working
                                    on:input=move |ev| { form.email.set(event_target_value(&ev)); form.email_error.set(None); } />
                                <p id="email-error" class="error" aria-live="polite">{form.email_error}</p>
                            </div>
                            <div class="field">
                                <label for="name">{t.name}</label>
                                <input id="name" type="text" autocomplete="cc-name"
                                    prop:value=form.name
                                    prop:disabled=working
                                    on:input=move |ev| form.name.set(event_target_value(&ev)) />
                            </div>
                        </fieldset>
                        <AddressFields state=form.billing kind="billing" legend=t.billing_address t=t locale=locale disabled=working />
                        <div class="field check">
                            <input id="ship-to-billing" type="checkbox"
                                prop:checked=form.ship_to_billing
                                prop:disabled=working
                                on:change=move |ev| form.ship_to_billing.set(event_target_checked(&ev)) />
                            <label for="ship-to-billing">{t.shipping_same}</label>
                        </div>
                        <Show when=move || !form.ship_to_billing.get()>
                            <AddressFields state=form.shipping kind="shipping" legend=t.shipping_address t=t locale=locale disabled=working />
                        </Show>
                        {card_fields.clone()}
                        {move || form.alert.get().map(|alert| view! {
                            <div class="alert" role="alert">
                                <p>{alert.message}</p>
                                {alert.retry.then(|| {
                                    let submit = submit.clone();
                                    view! { <button type="button" class="retry" on:click=move |_| submit()>{t.retry}</button> }
                                })}
                            </div>
                        })}
                        <button type="submit" class="pay" disabled=working>
                            {move || if working.get() {
                                t.processing.to_owned()
                            } else {
                                fill(t.pay, &money::format(form.summary.get().total, locale))
                            }}
                        </button>
                        {hosted.then(|| view! {
                            <button type="button" class="hosted" disabled=working on:click=on_hosted.clone()>
                                {hosted_label.clone()}
                            </button>
                        })}
                    </form>
                    }.into_any()
                }
            }}
            {move || form.challenge.get().map(|url| view! { <Challenge url=url t=t done=on_challenge_done /> })}
            <p class="secure">
                <svg class="lock" viewBox="0 0 16 16" width="12" height="12" aria-hidden="true">
                    <path d="M4 7V5a4 4 0 1 1 8 0v2h1v8H3V7zm2 0h4V5a2 2 0 1 0-4 0z" fill="currentColor" />
                </svg>
                " " {fill(t.secure, &config.gateway.name)}
            </p>
        </main>
    }
    .into_any()
}

/// The steps from a filled-in form to a paid order.
#[derive(Clone)]
struct PayFlow {
    store: StoreId,
    gateway: PublicGatewayConfig,
    return_url: Option<String>,
    host: Host,
    t: &'static Texts,
}

impl PayFlow {
    /// Checks the contact details and addresses; the customer when all is well.
    fn customer(&self, form: Form) -> Option<CustomerInput> {
        let email = form.email.get_untracked();
        // Bytes, not `str::contains`, whose searcher is 0.7 KB of the widget.
        let email_ok = email.bytes().any(|b| b == b'@');
        form.email_error.set((!email_ok).then(|| self.t.email_missing.to_owned()));
        let billing = form.billing.validate(self.t);
        let shipping =
            if form.ship_to_billing.get_untracked() { billing.clone() } else { form.shipping.validate(self.t) };
        let name = form.name.get_untracked();
        Some(CustomerInput {
            email: email_ok.then_some(email)?,
            name: (!name.trim().is_empty()).then_some(name),
            billing_address: Some(billing?),
            shipping_address: Some(shipping?),
        })
    }

    async fn pay(&self, form: Form) {
        form.alert.set(None);
        let customer = self.customer(form);
        // Paylet's fields are checked here (`Err` when one is wrong); the
        // gateway's check themselves when they tokenize (`None`).
        let typed = if GATEWAY_FIELDS { Ok(None) } else { form.card.validate(self.t).map(Some).ok_or(()) };
        let (Some(customer), Ok(typed)) = (customer, typed) else { return };
        form.phase.set(Phase::Working);
        let Some(order) = self.order(form, customer.clone()).await else { return };
        let (token, verification_token) = match form.unanswered_token.get_value() {
            Some(pair) => pair,
            None => match self.token(form, typed, &customer, order.total).await {
                Ok(pair) => pair,
                Err(e) => return self.card_refused(form, &e),
            },
        };
        let Some(client_secret) = order.client_secret.clone() else {
            return self.stop(form, self.t.not_payable.into(), false);
        };
        form.unanswered_token.set_value(Some((token.clone(), verification_token.clone())));
        match api::pay(&order.id, &PayRequest { client_secret, token, verification_token }).await {
            Ok(result) => {
                form.unanswered_token.set_value(None);
                self.settle(form, &result);
            }
            Err(failure) => self.api_failed(form, &failure),
        }
    }

    /// The card's single-use token, from the shopper's card in Paylet's fields
    /// or the gateway's, and (Square style, the gateway's fields) the buyer
    /// verification for the order's total. Boxed, so that each build leaves the
    /// other kind's code out: awaited directly, both would keep a place in the
    /// caller's state machine, whatever `GATEWAY_FIELDS` says.
    fn token<'a>(
        &'a self,
        form: Form,
        typed: Option<(String, paylet_card::Expiry, String)>,
        customer: &'a CustomerInput,
        total: Money,
    ) -> Pin<Box<dyn Future<Output = Result<CardToken, TokenizeError>> + 'a>> {
        if GATEWAY_FIELDS { Box::pin(self.sdk_token(customer, total)) } else { Box::pin(self.typed_token(form, typed)) }
    }

    /// Paylet's fields: the card the shopper typed, to the gateway's tokenization endpoint.
    async fn typed_token(
        &self,
        form: Form,
        typed: Option<(String, paylet_card::Expiry, String)>,
    ) -> Result<CardToken, TokenizeError> {
        let Some((number, expiry, cvc)) = typed else {
            return Err(TokenizeError::Card { field: Some(CardField::Number), message: self.t.decline_number.into() });
        };
        let card = CardInput {
            number,
            exp_month: expiry.month,
            exp_year: expiry.year,
            cvc,
            postal_code: Some(form.billing.postal_code()).filter(|p| !p.is_empty()),
        };
        Ok((gateway::tokenize(&self.gateway, &card).await?, None))
    }

    /// The gateway's SDK tokenizes the card in its fields and (Square style)
    /// verifies the buyer for `total`.
    async fn sdk_token(&self, customer: &CustomerInput, total: Money) -> Result<CardToken, TokenizeError> {
        let token = card_sdk::tokenize(customer).await?;
        let verification =
            card_sdk::verify_buyer(&self.gateway, &token, total, customer).await.map_err(|e| match e {
                TokenizeError::Network => e,
                // The buyer did not pass the bank's verification.
                TokenizeError::Card { .. } => {
                    TokenizeError::Card { field: None, message: self.t.decline_authentication.into() }
                }
            })?;
        Ok((token, verification))
    }

    /// The order this checkout pays, created on first use; `None` after telling
    /// the shopper why there is none.
    async fn order(&self, form: Form, customer: CustomerInput) -> Option<Order> {
        if let Some(order) = form.order.get_value() {
            return Some(order);
        }
        let (items, checkout_session) = match form.cart.get_value() {
            Cart::Items(items) => (items, None),
            Cart::Session(id) => (Vec::new(), Some(id)),
        };
        let request = CreateOrderRequest { items, checkout_session, customer };
        match api::create_order(&self.store, &request, &form.order_key.get_value()).await {
            Ok(order) if order.total != form.summary.get_untracked().total => {
                form.summary.set(Summary::of(&order));
                self.stop(form, self.t.total_changed.into(), false);
                form.order.set_value(Some(order));
                None
            }
            Ok(order) => {
                form.order.set_value(Some(order.clone()));
                Some(order)
            }
            Err(ApiFailure::Api(detail)) if detail.field.as_deref() == Some("customer.email") => {
                form.email_error.set(Some(detail.message.clone()));
                self.stop(form, detail.message, false);
                None
            }
            Err(failure) => {
                self.api_failed(form, &failure);
                None
            }
        }
    }

    fn card_refused(&self, form: Form, error: &TokenizeError) {
        let t = self.t;
        match error {
            TokenizeError::Network => self.stop(form, t.gateway_unreachable.into(), true),
            TokenizeError::Card { field, message } => {
                let mine = match field {
                    Some(CardField::Number) => Some(t.decline_number),
                    Some(CardField::Expiry) => Some(t.decline_expired),
                    Some(CardField::Cvc) => Some(t.decline_cvc),
                    None => None,
                };
                match (field, mine) {
                    // The gateway's own fields show their errors themselves;
                    // the alert says it in the checkout's language.
                    (Some(_), Some(text)) if GATEWAY_FIELDS => self.stop(form, text.to_owned(), false),
                    (Some(field), Some(text)) => {
                        form.card.set_error(*field, text.to_owned());
                        form.phase.set(Phase::Editing);
                    }
                    _ => self.stop(form, message.clone(), false),
                }
            }
        }
    }

    fn api_failed(&self, form: Form, failure: &ApiFailure) {
        match failure {
            ApiFailure::Api(detail) if detail.code == "order_not_payable" => form.phase.set(Phase::Closed),
            ApiFailure::Network => self.stop(form, failure.message(self.t), true),
            ApiFailure::Api(_) => self.stop(form, failure.message(self.t), false),
        }
    }

    /// Back to the form with an alert.
    fn stop(&self, form: Form, message: String, retry: bool) {
        form.alert(message, retry);
        form.phase.set(Phase::Editing);
    }

    fn settle(&self, form: Form, result: &PaymentResult) {
        let order_id = result.order_id.as_str();
        match (result.status, &result.decline, &result.next_action) {
            (OrderStatus::Paid | OrderStatus::PartiallyRefunded | OrderStatus::Refunded, _, _) => {
                self.host.send(&HostEvent::Paid { order_id });
                form.phase.set(Phase::Paid { order_id: order_id.to_owned() });
            }
            (OrderStatus::Failed | OrderStatus::Canceled, decline, _) => {
                let code = decline.as_ref().map_or("order_failed", |d| d.code.as_str());
                self.host.send(&HostEvent::Failed { order_id: Some(order_id), code });
                form.phase.set(Phase::Closed);
            }
            (OrderStatus::RequiresAction, _, Some(NextAction { redirect_url: Some(url), .. })) => {
                form.challenge.set(Some(url.clone()));
            }
            // Stripe.js shows the bank's challenge itself; then the server reads the outcome.
            (OrderStatus::RequiresAction, _, Some(NextAction { gateway_client_secret: Some(secret), .. }))
                if GATEWAY_FIELDS =>
            {
                let (flow, secret) = (self.clone(), secret.clone());
                spawn_local(async move {
                    card_sdk::handle_next_action(&secret).await;
                    flow.after_challenge(form, Some(Vec::new())).await;
                });
            }
            (_, Some(decline), _) => {
                self.host.send(&HostEvent::Failed { order_id: Some(order_id), code: &decline.code });
                let message = self.t.decline(&decline.code).map_or_else(|| decline.message.clone(), str::to_owned);
                self.stop(form, message, false);
            }
            // Neither paid nor declined yet: the gateway is still deciding.
            _ => self.stop(form, fill(self.t.confirming, &self.gateway.name), false),
        }
    }

    /// The challenge page came back (with what it returned) or the shopper
    /// closed it (`None`).
    async fn after_challenge(&self, form: Form, outcome: Option<Vec<(String, String)>>) {
        let Some(order) = form.order.get_value() else { return };
        let (Some(returned), Some(client_secret)) = (outcome, order.client_secret.clone()) else {
            return self.stop(form, self.t.challenge_canceled.into(), false);
        };
        let verification_token =
            returned.into_iter().find(|(name, _)| name == "verification_token").map(|(_, value)| value);
        match api::confirm(&order.id, &ConfirmPaymentRequest { client_secret, verification_token }).await {
            Ok(result) => self.settle(form, &result),
            Err(failure) => self.api_failed(form, &failure),
        }
    }

    /// Sends the shopper to the gateway's own page for this order.
    async fn pay_on_hosted_page(&self, form: Form) {
        form.alert.set(None);
        form.card.clear_errors();
        let Some(customer) = self.customer(form) else { return };
        form.phase.set(Phase::Working);
        let Some(order) = self.order(form, customer).await else { return };
        let (Some(client_secret), Some(return_url)) = (order.client_secret.clone(), self.return_url.clone()) else {
            return self.stop(form, self.t.method_unavailable.into(), false);
        };
        let request = HostedSessionRequest { client_secret, return_url };
        match api::hosted_session(&order.id, &request).await {
            Ok(session) => {
                form.phase.set(Phase::Redirecting);
                if self.host.is_open() {
                    // The whole merchant page goes, so the shopper comes back to it.
                    self.host.send(&HostEvent::Redirect { url: &session.url });
                } else if let Some(window) = web_sys::window() {
                    let _ = window.location().assign(&session.url);
                }
            }
            Err(failure) => self.api_failed(form, &failure),
        }
    }

    /// The shopper is back from the hosted page: show what the gateway says,
    /// asking it a few times while its answer is on the way.
    async fn back_from_hosted_page(&self, form: Form, returned: Returned) {
        // Only the order this widget sent there: one the page names that the
        // server does not hand back (a script on the page made it) is not
        // shown, and the shopper checks out the page's cart as usual.
        let resumed =
            api::resume(&returned.order).await.ok().and_then(|order| Some((order.client_secret.clone()?, order)));
        let Some((secret, order)) = resumed else {
            // A browser that kept no cookie for the frame: the shopper may have paid.
            if returned.paid {
                form.alert(fill(self.t.not_resumed, &self.gateway.name), false);
            }
            return;
        };
        // From here the shopper sees, and paying again pays, this same order
        // as the server has it: its lines and total, not the page's cart.
        form.summary.set(Summary::of(&order));
        form.order.set_value(Some(order.clone()));
        if !matches!(order.status, OrderStatus::Pending | OrderStatus::RequiresAction) {
            let result = PaymentResult { order_id: order.id, status: order.status, decline: None, next_action: None };
            return self.settle(form, &result);
        }
        if !returned.paid {
            return form.alert(self.t.came_back.into(), false);
        }
        form.phase.set(Phase::Confirming);
        for _ in 0..20 {
            match api::refreshed_order(&returned.order, &secret).await {
                Ok(order) if !matches!(order.status, OrderStatus::Pending | OrderStatus::RequiresAction) => {
                    let result =
                        PaymentResult { order_id: order.id, status: order.status, decline: None, next_action: None };
                    return self.settle(form, &result);
                }
                _ => sleep(1000).await,
            }
        }
        // Still open: the gateway's webhook or reconciliation will settle it
        // and the shop hears then. Meanwhile the shopper may pay again.
        self.stop(form, fill(self.t.confirming, &self.gateway.name), false);
    }
}

/// Waits `ms` milliseconds on the browser's timer.
async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}
