//! The `paylet` command line, one file per command group. Settings come from
//! flags, then `PAYLET_*` environment variables, then `paylet.toml`, then
//! defaults.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::builder::BoolishValueParser;
use clap::{Parser, Subcommand};
use paylet::Error;
use paylet::config::{DEFAULT_LISTEN, DEFAULT_WIDGET_DIR, FileConfig, parse_duration};
use paylet::db::Db;
use paylet::limits::Limits;
use paylet::outbound::UrlRules;
use paylet::telemetry::LogFormat;
use paylet_api::StoreId;
use paylet_secret::KeyRing;

mod database;
pub mod integrity;
mod keys;
mod orders;
mod product;
#[cfg(feature = "sandbox")]
mod sandbox;
mod serve;
mod store;

#[derive(Parser)]
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
    pub config: Option<PathBuf>,
    /// Log as human-readable text or as JSON lines [default: text].
    #[arg(long, global = true, env = "PAYLET_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(clap::Args)]
pub struct DatabaseArgs {
    /// `sqlite://PATH` or `postgres://USER@HOST/DB` [default: sqlite://data/paylet.db].
    #[arg(long, env = "PAYLET_DATABASE_URL")]
    database_url: Option<String>,
    /// File of master keys that seal the stores' secrets, the current key first.
    /// Or give the keys themselves in PAYLET_MASTER_KEY (never as a flag, where
    /// other users could see them).
    #[arg(long, env = "PAYLET_MASTER_KEY_FILE", value_name = "FILE")]
    master_key_file: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct WidgetArgs {
    /// Directory of the built widget (Trunk's dist, with embed.js) [default: widget/dist].
    #[arg(long, env = "PAYLET_WIDGET_DIR")]
    widget_dir: Option<PathBuf>,
    /// The URL browsers reach this server at, for snippets and return URLs [default: http://LISTEN].
    #[arg(long, env = "PAYLET_PUBLIC_URL")]
    public_url: Option<String>,
}

#[derive(clap::Args)]
pub struct HttpsArgs {
    /// Serve HTTPS with this certificate chain (PEM); needs --tls-key.
    #[arg(long, env = "PAYLET_TLS_CERT", value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(long, env = "PAYLET_TLS_KEY", value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Also listen for plain HTTP here (e.g. 0.0.0.0:80) and send it to the HTTPS public URL.
    #[arg(long, env = "PAYLET_REDIRECT_HTTP", value_name = "ADDR")]
    redirect_http: Option<SocketAddr>,
    /// A proxy in front of the server whose X-Forwarded-Proto and X-Forwarded-For are believed (repeat,
    /// or comma separated). Requests it forwards over plain HTTP are sent to HTTPS; those over HTTPS get
    /// HSTS; abuse limits count the client address it forwards.
    #[arg(long = "trusted-proxy", env = "PAYLET_TRUSTED_PROXIES", value_name = "IP", value_delimiter = ',')]
    trusted_proxies: Vec<std::net::IpAddr>,
}

#[derive(clap::Args)]
pub struct PaymentArgs {
    /// How long one call to a gateway may take, e.g. 30s [default: 30s].
    #[arg(long, env = "PAYLET_GATEWAY_TIMEOUT", value_parser = parse_duration)]
    gateway_timeout: Option<Duration>,
    /// How far a gateway webhook's signed timestamp may be from now [default: 5m].
    #[arg(long, env = "PAYLET_WEBHOOK_TOLERANCE", value_parser = parse_duration)]
    webhook_tolerance: Option<Duration>,
    /// Ask the gateway about a payment still unsettled after this long [default: 10m].
    #[arg(long, env = "PAYLET_RECONCILE_AFTER", value_parser = parse_duration)]
    reconcile_after: Option<Duration>,
    /// An abuse limit per minute, NAME=N (0: none), or `off` for none at all (repeat, or comma separated).
    /// Names and defaults: orders_per_ip=30, orders_per_store=3000, payments_per_ip=30,
    /// payments_per_store=3000, payments_per_order=10. Over a limit, requests get 429 and Retry-After.
    #[arg(long = "rate-limit", env = "PAYLET_RATE_LIMITS", value_name = "NAME=N", value_delimiter = ',')]
    rate_limits: Vec<String>,
}

#[derive(clap::Args)]
pub struct UrlArgs {
    /// Accept http:// URLs, not only https://, for notifications, store origins and gateways.
    /// For tests, demos or the operator's own network.
    #[arg(long, env = "PAYLET_ALLOW_HTTP_URLS", value_parser = BoolishValueParser::new())]
    allow_http_urls: bool,
    /// Let notification URLs reach loopback, private, link-local and other non-public
    /// addresses (refused by default, when set and when sending). For tests, demos or the
    /// operator's own network.
    #[arg(long, env = "PAYLET_ALLOW_PRIVATE_NOTIFY_URLS", value_parser = BoolishValueParser::new())]
    allow_private_notify_urls: bool,
}

/// The flags' allowances, each also allowed by the file.
fn url_rules(args: &UrlArgs, file: &FileConfig) -> UrlRules {
    UrlRules {
        http: args.allow_http_urls || file.allow_http_urls.unwrap_or(false),
        private_addresses: args.allow_private_notify_urls || file.allow_private_notify_urls.unwrap_or(false),
    }
}

/// The file's limits (or the defaults), with the flags' `NAME=N` applied in order.
fn limits(file: Option<Limits>, flags: &[String]) -> Result<Limits, Error> {
    let mut limits = file.unwrap_or_default();
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
pub async fn run(command: Command, file: FileConfig) -> Result<(), Error> {
    match command {
        Command::Serve(args) => serve::run(args, file).await,
        Command::Migrate { database } => database::migrate(database, &file).await,
        #[cfg(feature = "sandbox")]
        Command::Sandbox(args) => sandbox::run_sandbox(args).await,
        #[cfg(feature = "sandbox")]
        Command::Demo(args) => sandbox::run_demo(args).await,
        Command::Store { command } => store::run(command, &file).await,
        Command::Product { command } => product::run(command, &file).await,
        Command::Orders { command } => orders::run(command, &file).await,
        Command::Snippet { store, items, checkout_session, database, widget } => {
            store::snippet(store, items, checkout_session, database, widget, &file).await
        }
        Command::Backup { database, out } => database::backup(database, &out, &file).await,
        Command::Keys { command } => keys::run(command, &file).await,
        Command::Restore { database, from, force } => database::restore(database, &from, force, &file).await,
        Command::Integrity { .. } => unreachable!("`main` runs integrity commands"),
    }
}

async fn connect(database: DatabaseArgs, file: &FileConfig) -> Result<(Db, String), Error> {
    let keys = key_ring(&database, file)?;
    let url = file.database_url(database.database_url);
    let mut db = Db::connect(&url).await?;
    db.migrate().await?;
    if let Some(keys) = keys {
        db = db.with_keys(keys);
    }
    Ok((db, url))
}

/// The master keys from PAYLET_MASTER_KEY, else from the key file, if either is given.
fn key_ring(database: &DatabaseArgs, file: &FileConfig) -> Result<Option<KeyRing>, Error> {
    if let Ok(text) = std::env::var("PAYLET_MASTER_KEY") {
        return KeyRing::parse(&text).map(Some).map_err(|e| Error::Config(format!("PAYLET_MASTER_KEY: {e}")));
    }
    database
        .master_key_file
        .as_ref()
        .or(file.master_key_file.as_ref())
        .map(|path| paylet::keys::read_file(path))
        .transpose()
}

fn widget_dir(widget: &WidgetArgs, file: &FileConfig) -> PathBuf {
    widget.widget_dir.clone().or_else(|| file.widget_dir.clone()).unwrap_or_else(|| DEFAULT_WIDGET_DIR.into())
}

/// The public URL given, else the listen address, over `https` when `tls`.
fn public_url(widget: &WidgetArgs, file: &FileConfig, listen: Option<SocketAddr>, tls: bool) -> String {
    widget.public_url.clone().or_else(|| file.public_url.clone()).unwrap_or_else(|| {
        let scheme = if tls { "https" } else { "http" };
        format!("{scheme}://{}", listen.or(file.listen).map_or_else(|| DEFAULT_LISTEN.to_owned(), |l| l.to_string()))
    })
}

/// Whether `serve` would listen with TLS, for commands that print or register
/// its URLs (snippets, webhooks): they have no `--tls-cert` flag of their own.
fn serves_tls(file: &FileConfig) -> bool {
    file.tls_cert.is_some() || std::env::var_os("PAYLET_TLS_CERT").is_some()
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
