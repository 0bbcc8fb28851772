//! The `paylet` command line, one file per command group. Settings come from
//! flags, then `PAYLET_*` environment variables, then `paylet.toml`, then
//! defaults: each command puts its flags over the [`Layers`] and resolves one
//! [`Config`]. The argument groups serialize with `Config`'s key names, naming
//! only what was given.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::builder::BoolishValueParser;
use clap::{Parser, Subcommand};
use paylet::Error;
use paylet::config::{Config, Layers, duration, parse_duration};
use paylet::db::Db;
use paylet::limits::Limits;
use paylet::outbound::UrlRules;
use paylet::telemetry::LogFormat;
use paylet_api::StoreId;
use paylet_secret::KeyRing;
use serde::Serialize;

mod database;
pub mod integrity;
mod keys;
mod orders;
mod product;
#[cfg(feature = "sandbox")]
mod sandbox;
mod serve;
mod store;

#[derive(Parser, Serialize)]
#[command(
    name = "paylet",
    version,
    about = "The Paylet embeddable checkout: server, sandbox gateway, demo and admin tools."
)]
pub struct Cli {
    /// Settings file. Without it, ./paylet.toml is read if present. Its keys are
    /// listen, database_url, widget_dir, public_url, log_format, gateway_timeout,
    /// webhook_tolerance, reconcile_after, master_key_file, tls_cert, tls_key,
    /// redirect_http, trusted_proxies, allow_http_urls, allow_private_notify_urls and a
    /// [rate_limits] table; flags and PAYLET_* variables override them.
    #[arg(long, global = true, env = "PAYLET_CONFIG", value_name = "FILE")]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// Log as human-readable text or as JSON lines [default: text].
    #[arg(long, global = true, env = "PAYLET_LOG_FORMAT", value_enum)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_format: Option<LogFormat>,
    #[command(subcommand)]
    #[serde(skip)]
    pub command: Command,
}

#[derive(clap::Args, Serialize)]
pub struct DatabaseArgs {
    /// `sqlite://PATH` or `postgres://USER@HOST/DB` [default: sqlite://data/paylet.db].
    #[arg(long, env = "PAYLET_DATABASE_URL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    database_url: Option<String>,
    /// File of master keys that seal the stores' secrets, the current key first.
    /// Or give the keys themselves in PAYLET_MASTER_KEY (never as a flag, where
    /// other users could see them).
    #[arg(long, env = "PAYLET_MASTER_KEY_FILE", value_name = "FILE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    master_key_file: Option<PathBuf>,
}

#[derive(clap::Args, Serialize)]
pub struct WidgetArgs {
    /// Directory of the built widget (Trunk's dist, with embed.js) [default: widget/dist].
    #[arg(long, env = "PAYLET_WIDGET_DIR")]
    #[serde(skip_serializing_if = "Option::is_none")]
    widget_dir: Option<PathBuf>,
    /// The URL browsers reach this server at, for snippets and return URLs [default: http://LISTEN].
    #[arg(long, env = "PAYLET_PUBLIC_URL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    public_url: Option<String>,
}

#[derive(clap::Args, Serialize)]
pub struct HttpsArgs {
    /// Serve HTTPS with this certificate chain (PEM); needs --tls-key.
    #[arg(long, env = "PAYLET_TLS_CERT", value_name = "FILE", requires = "tls_key")]
    #[serde(skip_serializing_if = "Option::is_none")]
    tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(long, env = "PAYLET_TLS_KEY", value_name = "FILE", requires = "tls_cert")]
    #[serde(skip_serializing_if = "Option::is_none")]
    tls_key: Option<PathBuf>,
    /// Also listen for plain HTTP here (e.g. 0.0.0.0:80) and send it to the HTTPS public URL.
    #[arg(long, env = "PAYLET_REDIRECT_HTTP", value_name = "ADDR")]
    #[serde(skip_serializing_if = "Option::is_none")]
    redirect_http: Option<SocketAddr>,
    /// A proxy in front of the server whose X-Forwarded-Proto and X-Forwarded-For are believed (repeat,
    /// or comma separated). Requests it forwards over plain HTTP are sent to HTTPS; those over HTTPS get
    /// HSTS; abuse limits count the client address it forwards.
    #[arg(long = "trusted-proxy", env = "PAYLET_TRUSTED_PROXIES", value_name = "IP", value_delimiter = ',')]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    trusted_proxies: Vec<std::net::IpAddr>,
}

#[derive(clap::Args, Serialize)]
pub struct PaymentArgs {
    /// How long one call to a gateway may take, e.g. 30s [default: 30s].
    #[arg(long, env = "PAYLET_GATEWAY_TIMEOUT", value_parser = parse_duration)]
    #[serde(serialize_with = "duration::serialize_some", skip_serializing_if = "Option::is_none")]
    gateway_timeout: Option<Duration>,
    /// How far a gateway webhook's signed timestamp may be from now [default: 5m].
    #[arg(long, env = "PAYLET_WEBHOOK_TOLERANCE", value_parser = parse_duration)]
    #[serde(serialize_with = "duration::serialize_some", skip_serializing_if = "Option::is_none")]
    webhook_tolerance: Option<Duration>,
    /// Ask the gateway about a payment still unsettled after this long [default: 10m].
    #[arg(long, env = "PAYLET_RECONCILE_AFTER", value_parser = parse_duration)]
    #[serde(serialize_with = "duration::serialize_some", skip_serializing_if = "Option::is_none")]
    reconcile_after: Option<Duration>,
    /// An abuse limit per minute, NAME=N (0: none), or `off` for none at all (repeat, or comma separated).
    /// Names and defaults: orders_per_ip=30, orders_per_store=3000, payments_per_ip=30,
    /// payments_per_store=3000, payments_per_order=10. Over a limit, requests get 429 and Retry-After.
    #[arg(long = "rate-limit", env = "PAYLET_RATE_LIMITS", value_name = "NAME=N", value_delimiter = ',')]
    #[serde(skip)] // Applied over the resolved limits, in order (see `limits`).
    rate_limits: Vec<String>,
}

#[derive(clap::Args, Serialize)]
pub struct UrlArgs {
    /// Accept http:// URLs, not only https://, for notifications, store origins and gateways.
    /// For tests, demos or the operator's own network.
    #[arg(long, env = "PAYLET_ALLOW_HTTP_URLS", value_parser = BoolishValueParser::new())]
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    allow_http_urls: bool,
    /// Let notification URLs reach loopback, private, link-local and other non-public
    /// addresses (refused by default, when set and when sending). For tests, demos or the
    /// operator's own network.
    #[arg(long, env = "PAYLET_ALLOW_PRIVATE_NOTIFY_URLS", value_parser = BoolishValueParser::new())]
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    allow_private_notify_urls: bool,
}

fn url_rules(config: &Config) -> UrlRules {
    UrlRules { http: config.allow_http_urls, private_addresses: config.allow_private_notify_urls }
}

/// `limits` with the flags' `NAME=N` applied in order.
fn limits(mut limits: Limits, flags: &[String]) -> Result<Limits, Error> {
    for setting in flags {
        limits.set(setting).map_err(Error::Config)?;
    }
    Ok(limits)
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the server. Migrations run at start-up.
    Serve(serve::ServeArgs),
    /// Apply database migrations and exit.
    Migrate {
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Run the offline sandbox gateway (Stripe style under /v1, Square style under /v2).
    #[cfg(feature = "sandbox")]
    Sandbox(sandbox::SandboxArgs),
    /// Run the sandbox, the server on SQLite and a demo shop, seeded and ready.
    #[cfg(feature = "sandbox")]
    Demo(sandbox::DemoArgs),
    /// Create and list stores.
    Store {
        #[command(subcommand)]
        command: store::StoreCommand,
    },
    /// Add, list and change a store's products.
    Product {
        #[command(subcommand)]
        command: product::ProductCommand,
    },
    /// List a store's orders.
    Orders {
        #[command(subcommand)]
        command: orders::OrdersCommand,
    },
    /// Print the embed snippet for a store.
    Snippet {
        /// The store's id (`st_…`).
        #[arg(long)]
        store: String,
        /// What the checkout sells, `SKU:QTY,…`.
        #[arg(long, default_value = "")]
        items: String,
        /// Sell a checkout session (`cs_…`) your backend created instead of items.
        #[arg(long, conflicts_with = "items")]
        checkout_session: Option<String>,
        #[command(flatten)]
        database: DatabaseArgs,
        #[command(flatten)]
        widget: WidgetArgs,
    },
    /// Back up the database: an online, consistent SQLite snapshot (for
    /// Postgres, the pg_dump command to run).
    Backup {
        #[command(flatten)]
        database: DatabaseArgs,
        /// The new backup file.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Make a master key, and re-seal stored secrets under a new one.
    Keys {
        #[command(subcommand)]
        command: keys::KeysCommand,
    },
    /// Replace the database with a backup. Stop the server first.
    Restore {
        #[command(flatten)]
        database: DatabaseArgs,
        /// A file made by `paylet backup`.
        #[arg(long, value_name = "FILE")]
        from: PathBuf,
        /// Replace an existing database.
        #[arg(long)]
        force: bool,
    },
    /// Payment-page integrity (PCI DSS 6.4.3, 11.6.1): the inventory of the
    /// scripts the widget page runs, and a check of a live page against it.
    Integrity {
        #[command(subcommand)]
        command: integrity::IntegrityCommand,
    },
}

/// Runs every command but `integrity`, which has its own exit status.
pub async fn run(command: Command, layers: &Layers) -> Result<(), Error> {
    match command {
        Command::Serve(args) => serve::run(args, layers).await,
        Command::Migrate { database } => database::migrate(&layers.with(&database).resolve()?).await,
        #[cfg(feature = "sandbox")]
        Command::Sandbox(args) => sandbox::run_sandbox(args).await,
        #[cfg(feature = "sandbox")]
        Command::Demo(args) => sandbox::run_demo(args).await,
        Command::Store { command } => store::run(command, layers).await,
        Command::Product { command } => product::run(command, layers).await,
        Command::Orders { command } => orders::run(command, layers).await,
        Command::Snippet { store, items, checkout_session, database, widget } => {
            let config = layers.with(&database).with(&widget).resolve()?;
            store::snippet(store, items, checkout_session, &config).await
        }
        Command::Backup { database, out } => database::backup(&layers.with(&database).resolve()?, &out).await,
        Command::Keys { command } => keys::run(command, layers).await,
        Command::Restore { database, from, force } => {
            database::restore(&layers.with(&database).resolve()?, &from, force).await
        }
        Command::Integrity { .. } => unreachable!("`main` runs integrity commands"),
    }
}

/// The database `config` names, migrated, with its master keys if given.
async fn connect(config: &Config) -> Result<Db, Error> {
    let keys = key_ring(config)?;
    let mut db = Db::connect(&config.database_url).await?;
    db.migrate().await?;
    if let Some(keys) = keys {
        db = db.with_keys(keys);
    }
    Ok(db)
}

/// The master keys from PAYLET_MASTER_KEY, else from the key file, if either is given.
fn key_ring(config: &Config) -> Result<Option<KeyRing>, Error> {
    if let Ok(text) = std::env::var("PAYLET_MASTER_KEY") {
        return KeyRing::parse(&text).map(Some).map_err(|e| Error::Config(format!("PAYLET_MASTER_KEY: {e}")));
    }
    config.master_key_file.as_ref().map(|path| paylet::keys::read_file(path)).transpose()
}

/// The public URL given, else the listen address, over `https` when `tls`.
fn public_url(config: &Config, tls: bool) -> String {
    config.public_url.clone().unwrap_or_else(|| {
        let scheme = if tls { "https" } else { "http" };
        format!("{scheme}://{}", config.listen)
    })
}

/// Whether `serve` would listen with TLS, for commands that print or register
/// its URLs (snippets, webhooks): they have no `--tls-cert` flag of their own.
fn serves_tls(config: &Config) -> bool {
    config.tls_cert.is_some() || std::env::var_os("PAYLET_TLS_CERT").is_some()
}

fn store_id(raw: &str) -> Result<StoreId, Error> {
    StoreId::parse(raw).map_err(|_| Error::Config(format!("`{raw}` is not a store id (st_…)")))
}

fn print_json(value: &serde_json::Value) {
    println!("{}", serde_json::to_string_pretty(value).unwrap_or_default());
}

fn short_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if secs.is_multiple_of(3600) { format!("{}h", secs / 3600) } else { format!("{secs}s") }
}

async fn shutdown_signal() {
    let _ = tokio::signal::ctrl_c().await;
    tracing::info!("shutting down");
}
