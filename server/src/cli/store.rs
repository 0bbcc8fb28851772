//! `paylet store` and `paylet snippet`: stores, their gateway, webhooks and
//! notifications, and the snippet that embeds their checkout.

use std::time::Duration;

use clap::{Subcommand, ValueEnum};
use paylet::config::{Config, Layers};
use paylet::snippet::{self, Cart};
use paylet::stores::{self, GatewaySettings, Store, WebhookSettings};
use paylet::{Error, auth, ids};
use paylet_api::{CardFields, Currency, GatewayStyle, PaymentMethod, StoreId};
use serde_json::json;

use super::{
    DatabaseArgs, UrlArgs, WidgetArgs, connect, parse_duration, print_json, public_url, serves_tls, short_duration,
    store_id, url_rules,
};

// Parsed once at start-up; boxing the large variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
pub enum StoreCommand {
    /// Create a store; prints its id, its admin API key (once) and the embed snippet.
    Create {
        /// The name shoppers see in the checkout.
        #[arg(long)]
        name: String,
        /// An origin allowed to embed the checkout, e.g. https://shop.example (repeat for more).
        #[arg(long = "origin", required = true)]
        origins: Vec<String>,
        /// ISO 4217 currency of the store's prices.
        #[arg(long)]
        currency: String,
        /// The gateway's wire protocol.
        #[arg(long, value_enum)]
        gateway: GatewayArg,
        /// The gateway's API base URL [default: the real gateway's].
        #[arg(long)]
        gateway_url: Option<String>,
        /// Publishable key (Stripe style) or application id (Square style).
        #[arg(long)]
        public_key: String,
        /// Secret key or access token. Prefer the variable, to keep it out of shell history.
        #[arg(long, env = "PAYLET_GATEWAY_SECRET_KEY", hide_env_values = true)]
        secret_key: String,
        /// Square style: the seller's location id (hosted payment links need it).
        #[arg(long)]
        location_id: Option<String>,
        /// Ways to pay, comma separated.
        #[arg(long, value_delimiter = ',', default_value = "card")]
        payment_methods: Vec<String>,
        /// Whose card inputs the shopper types into [default: `card_fields` in
        /// paylet.toml, else `gateway` on the gateway's real API, `paylet` elsewhere].
        #[arg(long, value_enum)]
        card_fields: Option<CardFieldsArg>,
        /// Where to send the store's order notifications (Standard Webhooks);
        /// the signing secret is printed once.
        #[arg(long, value_name = "URL")]
        notify_url: Option<String>,
        /// Do not register this server's webhook URL (PUBLIC_URL/v1/webhooks/…) at
        /// the gateway; set its secret later with `paylet store webhook`.
        #[arg(long)]
        no_webhook: bool,
        #[command(flatten)]
        database: DatabaseArgs,
        #[command(flatten)]
        widget: WidgetArgs,
        #[command(flatten)]
        urls: UrlArgs,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Register the store's webhook URL at its gateway again, or set the
    /// webhook signing secret by hand; the old secret stays valid for --overlap.
    Webhook {
        /// The store's id (`st_…`).
        #[arg(long)]
        store: String,
        /// The secret the gateway signs with, instead of registering.
        #[arg(long, env = "PAYLET_WEBHOOK_SECRET", hide_env_values = true)]
        secret: Option<String>,
        /// How long the previous secret is still accepted, e.g. 24h.
        #[arg(long, default_value = "24h", value_parser = parse_duration)]
        overlap: Duration,
        #[command(flatten)]
        database: DatabaseArgs,
        #[command(flatten)]
        widget: WidgetArgs,
    },
    /// Choose whose card inputs the shopper types into: the gateway's own
    /// (its browser SDK in the Paylet frame) or Paylet's.
    CardFields {
        /// The store's id (`st_…`).
        #[arg(long)]
        store: String,
        #[arg(value_enum)]
        mode: CardFieldsArg,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Send the store's order notifications to a URL (a new signing secret is
    /// printed once), or stop them.
    Notify {
        /// The store's id (`st_…`).
        #[arg(long)]
        store: String,
        #[arg(long, value_name = "URL", required_unless_present = "off")]
        url: Option<String>,
        /// Stop sending notifications.
        #[arg(long, conflicts_with = "url")]
        off: bool,
        #[command(flatten)]
        database: DatabaseArgs,
        #[command(flatten)]
        urls: UrlArgs,
    },
    /// List stores.
    List {
        #[command(flatten)]
        database: DatabaseArgs,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum GatewayArg {
    Stripe,
    Square,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum CardFieldsArg {
    Gateway,
    Paylet,
}

impl From<CardFieldsArg> for CardFields {
    fn from(arg: CardFieldsArg) -> CardFields {
        match arg {
            CardFieldsArg::Gateway => CardFields::Gateway,
            CardFieldsArg::Paylet => CardFields::Paylet,
        }
    }
}

pub async fn run(command: StoreCommand, layers: &Layers) -> Result<(), Error> {
    match command {
        StoreCommand::Create {
            name,
            origins,
            currency,
            gateway,
            gateway_url,
            public_key,
            secret_key,
            location_id,
            payment_methods,
            card_fields,
            notify_url,
            no_webhook,
            database,
            widget,
            urls,
            json,
        } => {
            let config = layers.with(&database).with(&widget).with(&urls).resolve()?;
            let db = connect(&config).await?;
            let rules = url_rules(&config);
            // Before the gateway or the database hear of the store: a refused URL leaves nothing behind.
            if let Some(url) = &notify_url {
                rules.check_notify_url(url).await?;
            }
            let currency = Currency::parse(&currency).map_err(|e| Error::Config(e.to_string()))?;
            let style = match gateway {
                GatewayArg::Stripe => GatewayStyle::Stripe,
                GatewayArg::Square => GatewayStyle::Square,
            };
            let api_base = gateway_url.unwrap_or_else(|| match style {
                GatewayStyle::Stripe => paylet_gateway::stripe::API.into(),
                GatewayStyle::Square => paylet_gateway::square::API.into(),
            });
            let payment_methods = payment_methods
                .iter()
                .map(|m| {
                    PaymentMethod::parse(m.trim())
                        .ok_or_else(|| Error::Config(format!("`{m}` is not a payment method (card, hosted)")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let card_fields = card_fields
                .map(CardFields::from)
                .or(config.card_fields)
                .unwrap_or_else(|| stores::default_card_fields(style, &api_base));
            let mut new = Store {
                id: ids::new_store_id(),
                name,
                currency,
                payment_methods,
                allowed_origins: origins,
                gateway: GatewaySettings {
                    style,
                    api_base,
                    public_key,
                    secret_key: secret_key.into(),
                    location_id,
                    card_fields,
                },
                webhook: WebhookSettings::default(),
                notify: None,
            };
            if !no_webhook {
                let http = paylet_gateway::http_client(Duration::from_secs(30));
                let public = public_url(&config, serves_tls(&config));
                new.register_webhook(&http, &public, rules).await.map_err(|e| match e {
                    Error::Gateway(paylet_gateway::GatewayError::NotOffered { .. }) => Error::Config(format!(
                        "{e}. To create the store without registering its webhook there, add --no-webhook, and \
                         set the signing secret later with `paylet store webhook --store … --secret whsec_…`."
                    )),
                    e => e,
                })?;
            }
            let store = stores::put(&db, new, rules).await?;
            let webhook_url = store.webhook.url.clone();
            let notify_secret = stores::set_notify_url(&db, &store.id, notify_url.as_deref(), rules).await?;
            let key = auth::create_key(&db, &store.id).await?;
            let snippet = embed_snippet(&store.id, &Cart::Items("SKU:1"), &config);
            if json {
                print_json(&json!({
                    "store_id": store.id,
                    "admin_key": key.expose(),
                    "snippet": snippet,
                    "webhook_url": webhook_url,
                    "notify_secret": notify_secret.as_ref().map(|s| s.expose()),
                }));
            } else {
                println!("Store created: {}\n", store.id);
                println!("Admin API key (shown once; keep it secret):\n  {}\n", key.expose());
                match &webhook_url {
                    Some(url) => println!("Gateway webhooks registered for:\n  {url}\n"),
                    None => println!("Gateway webhooks not registered; set the secret with `paylet store webhook`.\n"),
                }
                if let Some(secret) = &notify_secret {
                    println!("Notification signing secret (shown once):\n  {}\n", secret.expose());
                }
                println!("Embed snippet (replace SKU:1 with what the page sells):\n{snippet}");
            }
            Ok(())
        }
        StoreCommand::Webhook { store, secret, overlap, database, widget } => {
            let config = layers.with(&database).with(&widget).resolve()?;
            let db = connect(&config).await?;
            let store = stores::find(&db, &store_id(&store)?).await?;
            let base = public_url(&config, serves_tls(&config));
            let updated = match secret {
                Some(secret) => {
                    let url = store.webhook_url(&base);
                    stores::set_webhook(&db, &store, None, &url, &secret.into(), overlap).await?
                }
                None => {
                    let http = paylet_gateway::http_client(Duration::from_secs(30));
                    stores::register_webhook(&db, &http, &store, &base, overlap).await?
                }
            };
            println!(
                "webhook secret set for {}; the previous one is accepted for {}",
                updated.webhook.url.unwrap_or_default(),
                short_duration(overlap)
            );
            Ok(())
        }
        StoreCommand::CardFields { store, mode, database } => {
            let db = connect(&layers.with(&database).resolve()?).await?;
            let store = stores::set_card_fields(&db, &store_id(&store)?, mode.into()).await?;
            println!("{} takes cards in {} card fields", store.id, store.gateway.card_fields.as_str());
            Ok(())
        }
        StoreCommand::Notify { store, url, off, database, urls } => {
            let config = layers.with(&database).with(&urls).resolve()?;
            let db = connect(&config).await?;
            let store = store_id(&store)?;
            let url = if off { None } else { url };
            match stores::set_notify_url(&db, &store, url.as_deref(), url_rules(&config)).await? {
                Some(secret) => println!(
                    "notifications go to {}\nsigning secret (shown once): {}",
                    url.unwrap_or_default(),
                    secret.expose()
                ),
                None => println!("notifications stopped"),
            }
            Ok(())
        }
        StoreCommand::List { database, json } => {
            let db = connect(&layers.with(&database).resolve()?).await?;
            let list = stores::list(&db).await?;
            if json {
                let data: Vec<_> = list
                    .iter()
                    .map(|s| json!({ "id": s.id, "name": s.name, "currency": s.currency, "gateway": s.gateway.style, "allowed_origins": s.allowed_origins }))
                    .collect();
                print_json(&json!({ "data": data }));
            } else {
                for s in list {
                    println!(
                        "{}  {}  {}  {}  {}",
                        s.id,
                        s.name,
                        s.currency,
                        s.gateway.style.as_str(),
                        s.allowed_origins.join(" ")
                    );
                }
            }
            Ok(())
        }
    }
}

/// `paylet snippet`: the two lines that embed the store's checkout.
pub async fn snippet(
    store: String,
    items: String,
    checkout_session: Option<String>,
    config: &Config,
) -> Result<(), Error> {
    let db = connect(config).await?;
    let store = stores::find(&db, &store_id(&store)?).await?;
    let cart = match &checkout_session {
        Some(id) => Cart::Session(id),
        None => Cart::Items(&items),
    };
    println!("{}", embed_snippet(&store.id, &cart, config));
    Ok(())
}

fn embed_snippet(store: &StoreId, cart: &Cart<'_>, config: &Config) -> String {
    let embed_js = std::fs::read(config.widget_dir.join("embed.js")).ok();
    if embed_js.is_none() {
        eprintln!("paylet: the widget is not built, so the snippet has no integrity hash; run `cargo xtask widget`");
    }
    snippet::html(&public_url(config, serves_tls(config)), store, cart, embed_js.as_deref())
}
