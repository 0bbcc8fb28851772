//! The checkout: loads the store's configuration, shows the order, takes the
//! card, and pays.

use leptos::prelude::*;
use leptos::task::spawn_local;
use paylet_api::{
    CatalogItem, CheckoutConfig, CreateOrderRequest, CustomerInput, LineItemInput, Money, Order, OrderStatus,
    PayRequest, PaymentResult, PublicGatewayConfig, StoreId,
};

use crate::api::{self, ApiFailure};
use crate::card_form::{CardFields, CardState};
use crate::gateway::{self, TokenizeError};
use crate::host::{self, Cart, Host, HostEvent, Params};
use crate::money;

#[component]
pub fn App() -> impl IntoView {
    match host::read_params() {
        Ok(params) => view! { <Loader params=params /> }.into_any(),
        Err(message) => view! { <Notice message=message /> }.into_any(),
    }
}

#[component]
fn Notice(message: String) -> impl IntoView {
    view! { <main class="paylet"><p class="notice" role="alert">{message}</p></main> }
}

#[component]
fn Loader(params: Params) -> impl IntoView {
    let loaded = RwSignal::new(None::<Result<(CheckoutConfig, Summary), String>>);
    let request = params.clone();
    spawn_local(async move {
        loaded.set(Some(load(&request).await));
    });
    move || match loaded.get() {
        None => {
            view! { <main class="paylet"><p class="loading" aria-busy="true">"Loading checkout…"</p></main> }.into_any()
        }
        Some(Err(message)) => view! { <Notice message=message /> }.into_any(),
        Some(Ok((config, summary))) => {
            view! { <Checkout config=config summary=summary params=params.clone() /> }.into_any()
        }
    }
}

/// The store's configuration, and what this checkout sells as the shopper will see it.
async fn load(params: &Params) -> Result<(CheckoutConfig, Summary), String> {
    let config = api::checkout_config(&params.store).await.map_err(|e| e.message())?;
    let summary = match &params.cart {
        Cart::Items(items) => summarize(&config.catalog, items, Money::zero(config.currency))?,
        Cart::Session(id) => {
            let session = api::checkout_session(id).await.map_err(|e| e.message())?;
            if session.store_id != config.store_id {
                return Err("This checkout session belongs to another store.".into());
            }
            match session.status.as_str() {
                "open" => {}
                "complete" => return Err("This order has already been paid.".into()),
                _ => return Err("This checkout has expired. Please return to the shop and start again.".into()),
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
#[derive(Clone)]
struct Summary {
    lines: Vec<SummaryLine>,
    total: Money,
}

#[derive(Clone)]
struct SummaryLine {
    name: String,
    quantity: u32,
    total: Money,
}

fn summarize(catalog: &[CatalogItem], items: &[LineItemInput], zero: Money) -> Result<Summary, String> {
    let mut total = zero;
    let mut lines = Vec::with_capacity(items.len());
    for item in items {
        let product = catalog
            .iter()
            .find(|p| p.sku == item.sku)
            .ok_or_else(|| format!("The product `{}` is not available.", item.sku))?;
        let line_total = product.price.checked_mul(item.quantity).map_err(|e| e.to_string())?;
        total = total.checked_add(line_total).map_err(|e| e.to_string())?;
        lines.push(SummaryLine { name: product.name.clone(), quantity: item.quantity, total: line_total });
    }
    Ok(Summary { lines, total })
}

#[derive(Clone, Debug, PartialEq)]
enum Phase {
    Editing,
    Working,
    Paid { order_id: String },
}

/// Everything the pay flow reads and writes; all signals, so it is `Copy`.
#[derive(Clone, Copy)]
struct Form {
    email: RwSignal<String>,
    name: RwSignal<String>,
    email_error: RwSignal<Option<String>>,
    card: CardState,
    alert: RwSignal<Option<String>>,
    phase: RwSignal<Phase>,
    total: RwSignal<Money>,
    /// Created on the first Pay and reused by retries, so a decline and a second
    /// card do not create a second order.
    order: StoredValue<Option<Order>>,
}

#[component]
fn Checkout(config: CheckoutConfig, summary: Summary, params: Params) -> impl IntoView {
    let Summary { lines, total } = summary;
    let host = Host::new(params.parent_origin.clone(), &config.allowed_origins);
    host.follow_height();
    host.send(&HostEvent::Ready);

    let form = Form {
        email: RwSignal::new(String::new()),
        name: RwSignal::new(String::new()),
        email_error: RwSignal::new(None),
        card: CardState::new(),
        alert: RwSignal::new(None),
        phase: RwSignal::new(Phase::Editing),
        total: RwSignal::new(total),
        order: StoredValue::new(None),
    };
    let working = Signal::derive(move || form.phase.get() == Phase::Working);
    let order_key = api::random_key();
    let store = config.store_id.clone();
    let gateway_config = config.gateway.clone();
    let cart = params.cart.clone();

    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if form.phase.get_untracked() != Phase::Editing {
            return;
        }
        form.alert.set(None);
        let email_ok = form.email.get_untracked().contains('@');
        form.email_error.set((!email_ok).then(|| "Enter your email address.".to_owned()));
        let card = form.card.validate();
        let (Some(card), true) = (card, email_ok) else { return };
        form.phase.set(Phase::Working);
        let checkout = PayFlow {
            store: store.clone(),
            cart: cart.clone(),
            gateway: gateway_config.clone(),
            order_key: order_key.clone(),
            host: host.clone(),
        };
        spawn_local(async move {
            let next = checkout.run(form, card).await;
            form.phase.set(next);
        });
    };

    let gateway_name = config.gateway.name.clone();
    view! {
        <main class="paylet">
            <h1 class="store">{config.store_name.clone()}</h1>
            <section class="summary" aria-label="Order summary">
                <ul>
                    {lines
                        .into_iter()
                        .map(|line| {
                            view! {
                                <li>
                                    <span>{line.name} " × " {line.quantity}</span>
                                    <span>{money::format(line.total)}</span>
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
                <p class="total"><span>"Total"</span> <span>{move || money::format(form.total.get())}</span></p>
            </section>
            {move || match form.phase.get() {
                Phase::Paid { order_id } => view! {
                    <section class="paid" role="status">
                        <h2>"Paid"</h2>
                        <p>"Thank you. Your order " <code>{order_id}</code> " is paid."</p>
                    </section>
                }.into_any(),
                _ => view! {
                    <form on:submit=on_submit.clone() novalidate>
                        <fieldset class="contact">
                            <legend>"Contact"</legend>
                            <div class="field">
                                <label for="email">"Email"</label>
                                <input id="email" type="email" autocomplete="email" required
                                    aria-invalid=move || form.email_error.get().is_some().to_string()
                                    aria-describedby="email-error"
                                    prop:value=move || form.email.get()
                                    prop:disabled=move || working.get()
                                    on:input=move |ev| { form.email.set(event_target_value(&ev)); form.email_error.set(None); } />
                                <p id="email-error" class="error">{move || form.email_error.get()}</p>
                            </div>
                            <div class="field">
                                <label for="name">"Name on card"</label>
                                <input id="name" type="text" autocomplete="cc-name"
                                    prop:value=move || form.name.get()
                                    prop:disabled=move || working.get()
                                    on:input=move |ev| form.name.set(event_target_value(&ev)) />
                            </div>
                        </fieldset>
                        <CardFields state=form.card disabled=working />
                        <p class="alert" role="alert">{move || form.alert.get()}</p>
                        <button type="submit" class="pay" disabled=move || working.get()>
                            {move || if working.get() {
                                "Processing…".to_owned()
                            } else {
                                format!("Pay {}", money::format(form.total.get()))
                            }}
                        </button>
                    </form>
                }.into_any(),
            }}
            <p class="secure">
                <svg class="lock" viewBox="0 0 16 16" width="12" height="12" aria-hidden="true">
                    <path d="M4 7V5a4 4 0 1 1 8 0v2h1v8H3V7zm2 0h4V5a2 2 0 1 0-4 0z" fill="currentColor" />
                </svg>
                " Secure checkout — your card goes straight to " {gateway_name}
            </p>
        </main>
    }
    .into_any()
}

/// The steps from a validated form to a paid order.
#[derive(Clone)]
struct PayFlow {
    store: StoreId,
    cart: Cart,
    gateway: PublicGatewayConfig,
    order_key: String,
    host: Host,
}

impl PayFlow {
    async fn run(&self, form: Form, card: gateway::CardInput) -> Phase {
        let order = match self.order(form).await {
            Ok(order) => order,
            Err(message) => return fail(form, message),
        };
        if order.total != form.total.get_untracked() {
            form.total.set(order.total);
            return fail(form, "The total has changed. Please check it and press Pay again.".into());
        }
        let token = match gateway::tokenize(&self.gateway, &card).await {
            Ok(token) => token,
            Err(TokenizeError::Card { field: Some(field), message }) => {
                form.card.set_error(field, message);
                return Phase::Editing;
            }
            Err(TokenizeError::Card { field: None, message }) => return fail(form, message),
            Err(TokenizeError::Network) => {
                return fail(form, "We could not reach the payment gateway. Please try again.".into());
            }
            Err(TokenizeError::Unsupported) => return fail(form, "This payment method is not available.".into()),
        };
        let Some(client_secret) = order.client_secret.clone() else {
            return fail(form, "This order cannot be paid here.".into());
        };
        match api::pay(&order.id, &PayRequest { client_secret, token }).await {
            Ok(result) => self.settle(form, &result),
            Err(failure) => fail(form, failure.message()),
        }
    }

    /// The order this checkout pays, created on first use.
    async fn order(&self, form: Form) -> Result<Order, String> {
        if let Some(order) = form.order.get_value() {
            return Ok(order);
        }
        let name = form.name.get_untracked();
        let (items, checkout_session) = match &self.cart {
            Cart::Items(items) => (items.clone(), None),
            Cart::Session(id) => (Vec::new(), Some(id.clone())),
        };
        let request = CreateOrderRequest {
            items,
            checkout_session,
            customer: CustomerInput {
                email: form.email.get_untracked(),
                name: (!name.trim().is_empty()).then_some(name),
                billing_address: None,
                shipping_address: None,
            },
        };
        match api::create_order(&self.store, &request, &self.order_key).await {
            Ok(order) => {
                form.order.set_value(Some(order.clone()));
                Ok(order)
            }
            Err(ApiFailure::Api(detail)) if detail.field.as_deref() == Some("customer.email") => {
                form.email_error.set(Some(detail.message.clone()));
                Err(detail.message)
            }
            Err(failure) => Err(failure.message()),
        }
    }

    fn settle(&self, form: Form, result: &PaymentResult) -> Phase {
        let order_id = result.order_id.as_str();
        match (result.status, &result.decline) {
            (OrderStatus::Paid, _) => {
                self.host.send(&HostEvent::Paid { order_id });
                Phase::Paid { order_id: order_id.to_owned() }
            }
            (_, Some(decline)) => {
                self.host.send(&HostEvent::Failed { order_id: Some(order_id), code: &decline.code });
                fail(form, decline.message.clone())
            }
            _ => fail(form, "The payment needs a step this checkout cannot do yet.".into()),
        }
    }
}

fn fail(form: Form, message: String) -> Phase {
    form.alert.set(Some(message));
    Phase::Editing
}
