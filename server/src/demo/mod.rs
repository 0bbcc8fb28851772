//! `paylet demo`: the sandbox gateway, the server on a SQLite file, and a demo
//! merchant shop on another origin whose page embeds the widget with the real
//! snippet, all in one process.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::response::Html;
use axum::routing::get;
use paylet_api::{CardFields, Currency, GatewayStyle, Money, PaymentMethod, StoreId};
use paylet_sandbox::{DEMO_ACCOUNT, Sandbox, SandboxConfig};
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::app::Settings;
use crate::catalog::{self, Product, Sku};
use crate::db::Db;
use crate::http::recorder::Recorder;
use crate::outbound::UrlRules;
use crate::snippet::{self, Cart};
use crate::stores::{self, GatewaySettings, Store, WebhookSettings};
use crate::{Error, ServeOptions, auth};
use paylet_secret::Secret;

pub const DEMO_STORE_ID: &str = "st_demo";
/// The same shop on a Square-style gateway: the shop's `?gateway=square`.
pub const DEMO_SQUARE_STORE_ID: &str = "st_demosquare";

/// The same two shops taking cards in the gateway's own card fields (the
/// sandbox's stand-ins for Stripe.js and the Web Payments SDK): `?fields=gateway`.
pub const DEMO_GATEWAY_FIELDS_STORE_ID: &str = "st_demofields";
pub const DEMO_SQUARE_GATEWAY_FIELDS_STORE_ID: &str = "st_demosquarefields";

/// The demo stores, the gateway style and the card fields each uses.
const STORES: [(&str, GatewayStyle, CardFields); 4] = [
    (DEMO_STORE_ID, GatewayStyle::Stripe, CardFields::Paylet),
    (DEMO_SQUARE_STORE_ID, GatewayStyle::Square, CardFields::Paylet),
    (DEMO_GATEWAY_FIELDS_STORE_ID, GatewayStyle::Stripe, CardFields::Gateway),
    (DEMO_SQUARE_GATEWAY_FIELDS_STORE_ID, GatewayStyle::Square, CardFields::Gateway),
];

#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub data_dir: PathBuf,
    pub sandbox_listen: SocketAddr,
    pub listen: SocketAddr,
    pub shop_listen: SocketAddr,
    pub widget_dir: PathBuf,
    /// The server's certificate chain and key, to serve it over HTTPS.
    pub tls: Option<(PathBuf, PathBuf)>,
    pub record_requests: Option<PathBuf>,
    pub limits: crate::limits::Limits,
    /// The demo's shop and sandbox are http on this machine, so http is
    /// allowed; notification URLs reach only public addresses unless
    /// `--allow-private-notify-urls`.
    pub url_rules: UrlRules,
}

/// The demo catalog: (sku, name, price in cents).
const PRODUCTS: [(&str, &str, i64); 3] =
    [("TEE-CLASSIC", "Classic tee", 2500), ("MUG-ENAMEL", "Enamel mug", 1800), ("CAP-CANVAS", "Canvas cap", 2200)];

/// The certificates of the chain in `cert`: the demo's shop and sandbox call
/// the server with them trusted, as the shopper's browser is told to.
fn trusted_roots(cert: &std::path::Path) -> Result<Vec<reqwest::Certificate>, Error> {
    let pem = std::fs::read(cert)?;
    reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| Error::Config(format!("{}: {e}", cert.display())))
}

fn client_trusting(roots: &[reqwest::Certificate]) -> reqwest::Client {
    roots
        .iter()
        .fold(reqwest::Client::builder(), |b, cert| b.add_root_certificate(cert.clone()))
        .build()
        .unwrap_or_default()
}

pub async fn run(options: DemoOptions) -> Result<(), Error> {
    let embed_js = tokio::fs::read(options.widget_dir.join("embed.js")).await.map_err(|e| {
        Error::Config(format!(
            "the widget is not built ({}: {e}); `cargo xtask demo` builds it",
            options.widget_dir.display()
        ))
    })?;

    let sandbox_listener = bind(options.sandbox_listen, "sandbox").await?;
    let server_listener = bind(options.listen, "server").await?;
    let shop_listener = bind(options.shop_listen, "shop").await?;
    let sandbox_url = format!("http://{}", sandbox_listener.local_addr()?);
    let scheme = if options.tls.is_some() { "https" } else { "http" };
    let server_url = format!("{scheme}://{}", server_listener.local_addr()?);
    let tls = match &options.tls {
        Some((cert, key)) => Some((crate::tls::config(cert, key)?, trusted_roots(cert)?)),
        None => None,
    };
    let roots = tls.as_ref().map(|(_, roots)| roots.clone()).unwrap_or_default();
    // `localhost`, not the server's 127.0.0.1: the shop must be another origin.
    let shop_url = format!("http://localhost:{}", shop_listener.local_addr()?.port());

    let db = Db::connect(&format!("sqlite://{}/paylet.db", options.data_dir.display())).await?;
    db.migrate().await?;
    let db = db.with_keys(crate::keys::read_or_create_file(&options.data_dir.join("master.key"))?);
    let admin_key = seed(&db, &sandbox_url, &shop_url).await?;

    let recorder = match &options.record_requests {
        Some(path) => Some(Recorder::create(path).await?),
        None => None,
    };
    let mut settings = Settings::new(&server_url);
    settings.url_rules = options.url_rules;
    settings.transport.tls = tls.is_some();
    settings.limits = options.limits;
    let state = crate::state(db.clone(), ServeOptions { widget_dir: options.widget_dir.clone(), settings });
    let server = crate::app(state.clone(), recorder);
    let _workers = crate::workers(&state);
    let shop =
        shop_router(ShopState { server_url: server_url.clone(), embed_js, admin_key, http: client_trusting(&roots) });

    println!("Paylet demo is running.\n");
    println!("  shop:     {shop_url}");
    println!("  server:   {server_url}");
    println!("  sandbox:  {sandbox_url}");
    println!("  database: {}/paylet.db\n", options.data_dir.display());
    println!("Open the shop, pick a product and pay with a test card (any future expiry, any CVC):");
    println!("  4242 4242 4242 4242  pays");
    println!("  4000 0000 0000 0002  is declined");
    println!("  4000 0025 0000 3155  asks for 3-D Secure");
    println!("The same shop on a Square-style gateway: {shop_url}/?gateway=square; in dark colours: ?theme=dark");
    println!("With the gateway's own card fields (its SDK in the checkout): ?fields=gateway");
    println!("\nPress Ctrl-C to stop.");

    let (stop, stopped) = watch::channel(());
    let sandbox = Sandbox::with_config(SandboxConfig { webhook_root_certificates: roots, ..SandboxConfig::default() })?
        .serve(sandbox_listener, crate::stopped(stopped.clone()));
    let server =
        crate::serve_tcp(server_listener, tls.map(|(config, _)| config), server, crate::stopped(stopped.clone()));
    let shop = axum::serve(shop_listener, shop).with_graceful_shutdown(crate::stopped(stopped));
    let ctrl_c = async move {
        let _ = tokio::signal::ctrl_c().await;
        println!("\nStopping.");
        let _ = stop.send(());
        Ok::<(), std::io::Error>(())
    };
    // Once the sandbox answers, the demo store's webhooks are pointed at the
    // server, so payments reach it the way they do in production.
    let register = async {
        for (id, _, _) in STORES {
            let registered = async {
                let store = stores::find(&db, &StoreId::parse(id).map_err(|e| Error::Config(e.to_string()))?).await?;
                stores::register_webhook(&db, &state.http, &store, &server_url, Duration::ZERO).await
            };
            if let Err(e) = registered.await {
                tracing::warn!(error = %e, store = id, "could not register a demo store's webhook endpoint at the sandbox");
            }
        }
        Ok::<(), std::io::Error>(())
    };
    tokio::try_join!(sandbox, server, shop, ctrl_c, register)?;
    db.close().await;
    Ok(())
}

async fn bind(addr: SocketAddr, what: &str) -> Result<TcpListener, Error> {
    TcpListener::bind(addr).await.map_err(|e| Error::Config(format!("cannot listen for the {what} on {addr}: {e}")))
}

/// Creates or refreshes the demo stores (their sandbox URL and shop origin
/// follow the ports of this run) and their products; returns a new admin key
/// of the Stripe-style store for the shop's backend, the only valid one.
async fn seed(db: &Db, sandbox_url: &str, shop_url: &str) -> Result<Secret, Error> {
    let usd = Currency::parse("USD").map_err(|e| Error::Config(e.to_string()))?;
    for (id, style, card_fields) in STORES {
        let store_id = StoreId::parse(id).map_err(|e| Error::Config(e.to_string()))?;
        let (public_key, secret_key) = match style {
            GatewayStyle::Stripe => (DEMO_ACCOUNT.publishable_key, DEMO_ACCOUNT.secret_key),
            GatewayStyle::Square => (DEMO_ACCOUNT.application_id, DEMO_ACCOUNT.access_token),
        };
        stores::put(
            db,
            Store {
                id: store_id.clone(),
                name: "Paylet Demo Shop".into(),
                currency: usd,
                payment_methods: vec![PaymentMethod::Card, PaymentMethod::Hosted],
                allowed_origins: vec![shop_url.to_owned()],
                gateway: GatewaySettings {
                    style,
                    api_base: sandbox_url.to_owned(),
                    public_key: public_key.into(),
                    secret_key: secret_key.into(),
                    location_id: Some(DEMO_ACCOUNT.location_id.into()),
                    card_fields,
                },
                webhook: WebhookSettings::default(),
                notify: None,
            },
            UrlRules { http: true, ..UrlRules::default() },
        )
        .await?;
        for (sku, name, cents) in PRODUCTS {
            let product = Product {
                sku: Sku::parse(sku).ok_or_else(|| Error::Config(format!("bad demo sku {sku}")))?,
                name: name.into(),
                price: Money::new(cents, usd).map_err(|e| Error::Config(e.to_string()))?,
                active: true,
            };
            catalog::upsert(db, &store_id, &product).await?;
        }
        auth::revoke_all(db, &store_id).await?;
    }
    auth::create_key(db, &StoreId::parse(DEMO_STORE_ID).map_err(|e| Error::Config(e.to_string()))?).await
}

#[derive(Clone)]
struct ShopState {
    server_url: String,
    embed_js: Vec<u8>,
    /// The merchant backend's credential for Paylet's admin API.
    admin_key: Secret,
    http: reqwest::Client,
}

#[derive(Deserialize)]
struct ShopQuery {
    item: Option<String>,
    bundle: Option<String>,
    /// `square` sells through the Square-style store.
    gateway: Option<String>,
    /// `dark` shows the shop, and the widget, in dark colours.
    theme: Option<String>,
    /// `gateway` takes the card in the gateway's own card fields.
    fields: Option<String>,
}

/// The gift set, priced by the shop itself: a checkout session.
const GIFT_SET: &str = "GIFT-SET";

fn shop_router(state: ShopState) -> Router {
    Router::new().route("/", get(shop_page)).with_state(state)
}

/// The merchant's page: products, and for the chosen one the embed snippet.
/// Single products sell from the catalog; the gift set is priced by the shop's
/// backend, which creates a checkout session for it on every visit.
async fn shop_page(State(shop): State<ShopState>, Query(query): Query<ShopQuery>) -> Html<String> {
    let chosen = if query.bundle.as_deref() == Some(GIFT_SET) { Some(GIFT_SET) } else { query.item.as_deref() };
    let square = query.gateway.as_deref() == Some("square");
    let dark = query.theme.as_deref() == Some("dark");
    let gateway_fields = query.fields.as_deref() == Some("gateway");
    // Links keep the shop's gateway, card fields and colours.
    let keep = format!(
        "{}{}{}",
        if square { "&gateway=square" } else { "" },
        if gateway_fields { "&fields=gateway" } else { "" },
        if dark { "&theme=dark" } else { "" }
    );
    let gift_set = (GIFT_SET, "Gift set: tee and mug, wrapped", 3900, format!("/?bundle={GIFT_SET}{keep}"));
    let products: String = PRODUCTS
        .iter()
        .map(|(sku, name, cents)| (*sku, *name, *cents, format!("/?item={sku}{keep}")))
        .chain([gift_set])
        .map(|(sku, name, cents, href)| {
            let current = if chosen == Some(sku) { " aria-current=\"true\"" } else { "" };
            format!(
                "    <article class=\"product\"><h2>{name}</h2><p>${}.{:02}</p>\
                 <a href=\"{href}\"{current}>Buy</a></article>\n",
                cents / 100,
                cents % 100
            )
        })
        .collect();
    let id = match (square, gateway_fields) {
        (false, false) => DEMO_STORE_ID,
        (true, false) => DEMO_SQUARE_STORE_ID,
        (false, true) => DEMO_GATEWAY_FIELDS_STORE_ID,
        (true, true) => DEMO_SQUARE_GATEWAY_FIELDS_STORE_ID,
    };
    let store = StoreId::parse(id).unwrap_or_else(|_| StoreId::from_random("demo"));
    let snippet = |cart: &Cart<'_>| {
        let html = snippet::html(&shop.server_url, &store, cart, Some(&shop.embed_js));
        if dark { html.replace("<div ", "<div data-theme=\"dark\" ") } else { html }
    };
    let checkout = match chosen {
        // The shop's backend holds the Stripe-style store's admin key only.
        Some(GIFT_SET) if id == DEMO_STORE_ID => match create_gift_session(&shop).await {
            Ok(session) => snippet(&Cart::Session(&session)),
            Err(e) => {
                tracing::error!(error = %e, "the demo shop could not create a checkout session");
                "<p>The gift set is not available right now.</p>".to_owned()
            }
        },
        Some(sku) if PRODUCTS.iter().any(|p| p.0 == sku) => snippet(&Cart::Items(&format!("{sku}:1"))),
        _ => "<p>Pick a product to check out.</p>".to_owned(),
    };
    Html(
        include_str!("shop.html")
            .replace("{{THEME}}", if dark { "dark" } else { "light" })
            .replace("{{PRODUCTS}}", &products)
            .replace("{{CHECKOUT}}", &checkout),
    )
}

/// What a merchant's backend does: `POST /v1/admin/checkout-sessions` with its
/// own lines and prices, and the session id goes to the page.
async fn create_gift_session(shop: &ShopState) -> Result<String, reqwest::Error> {
    let lines = serde_json::json!({
        "line_items": [
            { "name": "Classic tee", "sku": "TEE-CLASSIC", "quantity": 1, "unit_amount": 2000 },
            { "name": "Enamel mug", "sku": "MUG-ENAMEL", "quantity": 1, "unit_amount": 1500 },
            { "name": "Gift wrapping", "quantity": 1, "unit_amount": 400 }
        ],
        "metadata": { "bundle": GIFT_SET }
    });
    let session: serde_json::Value = shop
        .http
        .post(format!("{}/v1/admin/checkout-sessions", shop.server_url))
        .bearer_auth(shop.admin_key.expose())
        .json(&lines)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(session["id"].as_str().unwrap_or_default().to_owned())
}
