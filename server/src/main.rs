//! The `paylet` command line. Settings come from flags, then `PAYLET_*`
//! environment variables, then `paylet.toml`, then defaults.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::builder::BoolishValueParser;
use clap::{Parser, Subcommand, ValueEnum};
use paylet::app::{Settings, Transport};
use paylet::backup::{self, Outcome};
use paylet::catalog::{self, Product, Sku};
use paylet::config::{DEFAULT_LISTEN, DEFAULT_METRICS_LISTEN, DEFAULT_WIDGET_DIR, FileConfig};
use paylet::db::Db;
#[cfg(feature = "sandbox")]
use paylet::demo::{self, DemoOptions};
use paylet::http::recorder::Recorder;
use paylet::limits::Limits;
use paylet::orders::{self, OrderFilter};
use paylet::outbound::UrlRules;
use paylet::snippet::{self, Cart};
use paylet::stores::{self, GatewaySettings, NewStore, WebhookSettings};
use paylet::telemetry::{self, LogFormat};
use paylet::{Error, ServeOptions, auth, integrity, keys, tls};
use paylet_api::{CardFields, Currency, GatewayStyle, Money, OrderStatus, PaymentMethod, StoreId};
#[cfg(feature = "sandbox")]
use paylet_sandbox::{Sandbox, SandboxConfig};
use paylet_secret::KeyRing;
use serde_json::json;
use tokio::net::TcpListener;

#[derive(Parser)]
#[command(
    name = "paylet",
    version,
    about = "The Paylet embeddable checkout: server, sandbox gateway, demo and admin tools."
)]
struct Cli {
    /// Settings file. Without it, ./paylet.toml is read if present. Its keys are
    /// listen, database_url, widget_dir, public_url, log_format, gateway_timeout,
    /// webhook_tolerance, reconcile_after, master_key_file, tls_cert, tls_key,
    /// redirect_http, trusted_proxies, allow_http_urls, allow_private_notify_urls and a
    /// [rate_limits] table; flags and PAYLET_* variables override them.
    #[arg(long, global = true, env = "PAYLET_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Log as human-readable text or as JSON lines [default: text].
    #[arg(long, global = true, env = "PAYLET_LOG_FORMAT", value_enum)]
    log_format: Option<LogFormat>,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args)]
struct DatabaseArgs {
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
struct WidgetArgs {
    /// Directory of the built widget (Trunk's dist, with embed.js) [default: widget/dist].
    #[arg(long, env = "PAYLET_WIDGET_DIR")]
    widget_dir: Option<PathBuf>,
    /// The URL browsers reach this server at, for snippets and return URLs [default: http://LISTEN].
    #[arg(long, env = "PAYLET_PUBLIC_URL")]
    public_url: Option<String>,
}

#[derive(clap::Args)]
struct HttpsArgs {
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
struct PaymentArgs {
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
struct UrlArgs {
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
enum Command {
    /// Run the server. Migrations run at start-up.
    Serve {
        /// Address to listen on [default: 127.0.0.1:8080].
        #[arg(long, env = "PAYLET_LISTEN")]
        listen: Option<SocketAddr>,
        #[command(flatten)]
        database: DatabaseArgs,
        #[command(flatten)]
        widget: WidgetArgs,
        #[command(flatten)]
        payments: PaymentArgs,
        #[command(flatten)]
        https: HttpsArgs,
        /// Serve Prometheus `/metrics` here, never on the public address; `off` for none
        /// [default: 127.0.0.1:9464].
        #[arg(long, env = "PAYLET_METRICS_LISTEN", value_name = "ADDR|off")]
        metrics_listen: Option<String>,
        #[command(flatten)]
        urls: UrlArgs,
        /// TEST ONLY: append every request received, bodies included, to FILE.
        #[arg(long, value_name = "FILE")]
        record_requests: Option<PathBuf>,
    },
    /// Apply database migrations and exit.
    Migrate {
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Run the offline sandbox gateway (Stripe style under /v1, Square style under /v2).
    #[cfg(feature = "sandbox")]
    Sandbox {
        #[arg(long, env = "PAYLET_SANDBOX_LISTEN", default_value = "127.0.0.1:12111")]
        listen: SocketAddr,
        /// Keep accounts, objects and pending webhook deliveries in FILE across restarts.
        #[arg(long, value_name = "FILE")]
        state: Option<PathBuf>,
        /// Waits between webhook retries, e.g. `1s,5s,30s` (default: 1, 2, 4, 8, 16, 32 minutes, then hourly to 72 h).
        #[arg(long, value_name = "LIST", value_parser = parse_schedule)]
        webhook_retry_schedule: Option<RetrySchedule>,
    },
    /// Run the sandbox, the server on SQLite and a demo shop, seeded and ready.
    #[cfg(feature = "sandbox")]
    Demo {
        /// Where the demo keeps its SQLite database.
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
        #[arg(long, default_value = "127.0.0.1:12111")]
        sandbox_listen: SocketAddr,
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// The shop is served as http://localhost:PORT, another origin than the server.
        #[arg(long, default_value = "127.0.0.1:8081")]
        shop_listen: SocketAddr,
        #[arg(long, default_value = "widget/dist")]
        widget_dir: PathBuf,
        /// Serve the server over HTTPS with this certificate chain (PEM, ending with
        /// the CA that issued it: the demo's own clients trust that CA).
        #[arg(long, value_name = "FILE", requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The certificate's private key (PEM).
        #[arg(long, value_name = "FILE", requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// TEST ONLY: append every request the server receives to FILE.
        #[arg(long, value_name = "FILE")]
        record_requests: Option<PathBuf>,
        /// An abuse limit, as for `serve`.
        #[arg(long = "rate-limit", value_name = "NAME=N", value_delimiter = ',')]
        rate_limits: Vec<String>,
        /// Let notification URLs reach this machine or its network (a receiver on
        /// localhost); the demo already takes http:// URLs.
        #[arg(long, env = "PAYLET_ALLOW_PRIVATE_NOTIFY_URLS", value_parser = BoolishValueParser::new())]
        allow_private_notify_urls: bool,
    },
    /// Create and list stores.
    Store {
        #[command(subcommand)]
        command: StoreCommand,
    },
    /// Add, list and change a store's products.
    Product {
        #[command(subcommand)]
        command: ProductCommand,
    },
    /// List a store's orders.
    Orders {
        #[command(subcommand)]
        command: OrdersCommand,
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
        command: KeysCommand,
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
        command: IntegrityCommand,
    },
}

#[derive(Subcommand)]
enum IntegrityCommand {
    /// Print, as JSON, the manifest of the widget built in --widget-dir: every
    /// script its page runs (and embed.js) with its SHA-384 and size, and the
    /// page's Content-Security-Policy. Keep the one made from the release build
    /// to check live pages against.
    Manifest {
        #[command(flatten)]
        widget: WidgetArgs,
    },
    /// Fetch a live widget page, every script it runs and embed.js, as browsers
    /// get them, and report each difference from the release: scripts added,
    /// removed or changed, and headers missing or weakened. Exit status: 0 no
    /// drift, 1 drift, 2 the check could not be made.
    Check {
        /// The widget page as the store's shoppers load it, e.g.
        /// https://pay.example/widget/?store=st_…
        #[arg(long)]
        url: String,
        /// The expected manifest: a file, or an https:// URL, from `paylet
        /// integrity manifest`. Without it, the release built in --widget-dir is
        /// the expectation.
        #[arg(long, value_name = "FILE|URL")]
        manifest: Option<String>,
        /// The release build to expect when there is no --manifest [default: widget/dist].
        #[arg(long, conflicts_with = "manifest")]
        widget_dir: Option<PathBuf>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Print a new random master key (base64 of 32 bytes).
    Generate,
    /// Seal every stored secret under the current master key, the first of the
    /// ring. To rotate: put the new key first and keep the old one after it,
    /// run this, then drop the old key.
    Rotate {
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

// Parsed once at start-up; boxing the large variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum StoreCommand {
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
enum GatewayArg {
    Stripe,
    Square,
}

#[derive(Clone, Copy, ValueEnum)]
enum CardFieldsArg {
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

#[derive(Subcommand)]
enum ProductCommand {
    /// Add a product.
    Add {
        /// The store's id (`st_…`).
        #[arg(long)]
        store: String,
        /// 1 to 64 letters, digits, `-`, `_` or `.`.
        #[arg(long)]
        sku: String,
        #[arg(long)]
        name: String,
        /// In the store's currency, e.g. 25.00.
        #[arg(long)]
        price: String,
        /// Add it not for sale yet.
        #[arg(long)]
        inactive: bool,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// List products.
    List {
        /// The store's id (`st_…`).
        #[arg(long)]
        store: String,
        #[command(flatten)]
        database: DatabaseArgs,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Change a product's name, price or sale status.
    Update {
        /// The store's id (`st_…`).
        #[arg(long)]
        store: String,
        #[arg(long)]
        sku: String,
        #[arg(long)]
        name: Option<String>,
        /// In the store's currency, e.g. 25.00.
        #[arg(long)]
        price: Option<String>,
        /// `true` to sell it, `false` to stop.
        #[arg(long)]
        active: Option<bool>,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

#[derive(Subcommand)]
enum OrdersCommand {
    /// List orders, newest first.
    List {
        /// The store's id (`st_…`).
        #[arg(long)]
        store: String,
        /// Only orders in this status: pending, requires_action, paid, partially_refunded, refunded, failed or canceled.
        #[arg(long)]
        status: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[command(flatten)]
        database: DatabaseArgs,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let file = match FileConfig::load(cli.config.as_deref()) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("paylet: {e}");
            return ExitCode::FAILURE;
        }
    };
    telemetry::init(cli.log_format.or(file.log_format).unwrap_or(LogFormat::Text));
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("paylet: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Its own exit status: drift (1) is not a failure to check (2).
    let command = match cli.command {
        Command::Integrity { command } => return runtime.block_on(integrity_command(command, &file)),
        command => command,
    };
    match runtime.block_on(run(command, file)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("paylet: {e}");
            ExitCode::FAILURE
        }
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
    database.master_key_file.as_ref().or(file.master_key_file.as_ref()).map(|path| keys::read_file(path)).transpose()
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

async fn run(command: Command, file: FileConfig) -> Result<(), Error> {
    match command {
        Command::Serve { listen, database, widget, payments, https, metrics_listen, urls, record_requests } => {
            let (db, _) = connect(database, &file).await?;
            // Refuses to start without keys that open every store's secrets. It does
            // not re-seal: instances still on the old keys could then open nothing.
            let stores = stores::list(&db).await?.len();
            tracing::info!(key = db.keys()?.current_id(), stores, "the master keys open every store's secrets");
            let recorder = match record_requests {
                Some(path) => Some(Recorder::create(&path).await?),
                None => None,
            };
            let listen = listen
                .or(file.listen)
                .unwrap_or_else(|| DEFAULT_LISTEN.parse().unwrap_or(([127, 0, 0, 1], 8080).into()));
            let tls = match (https.tls_cert.or(file.tls_cert.clone()), https.tls_key.or(file.tls_key.clone())) {
                (Some(cert), Some(key)) => Some(tls::config(&cert, &key)?),
                (None, None) => None,
                _ => return Err(Error::Config("give both a TLS certificate and its key".into())),
            };
            let mut settings = Settings::new(&public_url(&widget, &file, Some(listen), tls.is_some()));
            settings.transport = Transport {
                tls: tls.is_some(),
                trusted_proxies: if https.trusted_proxies.is_empty() {
                    file.trusted_proxies.clone()
                } else {
                    https.trusted_proxies
                },
            };
            let redirect_http = https.redirect_http.or(file.redirect_http);
            let metrics_listen = match metrics_listen.or(file.metrics_listen.clone()).as_deref() {
                Some("off") => None,
                Some(addr) => Some(addr.parse::<SocketAddr>().map_err(|e| {
                    Error::Config(format!("--metrics-listen: `{addr}` is not an address or `off`: {e}"))
                })?),
                None => DEFAULT_METRICS_LISTEN.parse().ok(),
            };
            let https_required = settings.transport.tls || !settings.transport.trusted_proxies.is_empty();
            if (https_required || redirect_http.is_some()) && !settings.public_url.starts_with("https://") {
                return Err(Error::Config(format!(
                    "plain HTTP is sent to the public URL, so it must be https://…, not {}",
                    settings.public_url
                )));
            }
            settings.gateway_timeout =
                payments.gateway_timeout.or(file.gateway_timeout).unwrap_or(settings.gateway_timeout);
            settings.webhook_tolerance =
                payments.webhook_tolerance.or(file.webhook_tolerance).unwrap_or(settings.webhook_tolerance);
            settings.reconcile_after =
                payments.reconcile_after.or(file.reconcile_after).unwrap_or(settings.reconcile_after);
            settings.limits = limits(file.rate_limits, &payments.rate_limits)?;
            settings.url_rules = url_rules(&urls, &file);
            let settings_url = settings.public_url.clone();
            let state = paylet::state(db.clone(), ServeOptions { widget_dir: widget_dir(&widget, &file), settings });
            let app = paylet::app(state.clone(), recorder);
            let workers = paylet::workers(&state);
            let listener = TcpListener::bind(listen).await?;
            tracing::info!(address = %listener.local_addr()?, https = tls.is_some(), "paylet server listening");
            let (stop, stopped) = tokio::sync::watch::channel(());
            let redirect = async {
                let Some(addr) = redirect_http else { return Ok(()) };
                let plain = TcpListener::bind(addr).await?;
                tracing::info!(address = %plain.local_addr()?, "sending plain HTTP to {}", settings_url);
                paylet::serve(
                    plain,
                    paylet::http::https_redirect(settings_url.clone()),
                    paylet::stopped(stopped.clone()),
                )
                .await
            };
            let metrics = async {
                let Some(addr) = metrics_listen else { return Ok(()) };
                let listener = TcpListener::bind(addr).await.map_err(|e| {
                    std::io::Error::new(e.kind(), format!("metrics on {addr} (see --metrics-listen): {e}"))
                })?;
                tracing::info!(address = %listener.local_addr()?, "metrics listening");
                paylet::serve(listener, paylet::http::metrics_router(state.clone()), paylet::stopped(stopped.clone()))
                    .await
            };
            let server = paylet::serve_tcp(listener, tls, app, paylet::stopped(stopped.clone()));
            let signal = async {
                shutdown_signal().await;
                let _ = stop.send(());
                Ok(())
            };
            tokio::try_join!(server, redirect, metrics, signal)?;
            drop(workers);
            db.close().await;
            Ok(())
        }
        Command::Migrate { database } => {
            connect(database, &file).await?;
            println!("migrations applied");
            Ok(())
        }
        #[cfg(feature = "sandbox")]
        Command::Sandbox { listen, state, webhook_retry_schedule } => {
            let mut config = SandboxConfig { state_file: state, ..SandboxConfig::default() };
            if let Some(RetrySchedule(schedule)) = webhook_retry_schedule {
                config.retry_schedule = schedule;
            }
            let sandbox = Sandbox::with_config(config)?;
            let listener = TcpListener::bind(listen).await?;
            tracing::info!(address = %listener.local_addr()?, "paylet sandbox listening");
            sandbox.serve(listener, shutdown_signal()).await?;
            Ok(())
        }
        #[cfg(feature = "sandbox")]
        Command::Demo {
            data_dir,
            sandbox_listen,
            listen,
            shop_listen,
            widget_dir,
            tls_cert,
            tls_key,
            record_requests,
            rate_limits,
            allow_private_notify_urls,
        } => {
            let tls = tls_cert.zip(tls_key);
            let limits = limits(None, &rate_limits)?;
            demo::run(DemoOptions {
                data_dir,
                sandbox_listen,
                listen,
                shop_listen,
                widget_dir,
                tls,
                record_requests,
                limits,
                url_rules: UrlRules { http: true, private_addresses: allow_private_notify_urls },
            })
            .await
        }
        Command::Store { command } => store_command(command, &file).await,
        Command::Product { command } => product_command(command, &file).await,
        Command::Orders { command: OrdersCommand::List { store, status, limit, database, json } } => {
            let (db, _) = connect(database, &file).await?;
            let status = status
                .map(|s| OrderStatus::parse(&s).ok_or_else(|| Error::Config(format!("`{s}` is not an order status"))))
                .transpose()?;
            let page =
                orders::list(&db, &store_id(&store)?, &OrderFilter { status, limit, ..OrderFilter::default() }).await?;
            if json {
                print_json(&json!({ "data": page.orders, "next_cursor": page.next_cursor }));
            } else {
                for o in page.orders {
                    println!(
                        "{}  {:<18}  {:>14}  {}  {}",
                        o.id,
                        o.status.as_str(),
                        o.total,
                        o.customer_email,
                        o.created_at
                    );
                }
            }
            Ok(())
        }
        Command::Snippet { store, items, checkout_session, database, widget } => {
            let (db, _) = connect(database, &file).await?;
            let store = stores::find(&db, &store_id(&store)?).await?;
            let cart = match &checkout_session {
                Some(id) => Cart::Session(id),
                None => Cart::Items(&items),
            };
            println!("{}", embed_snippet(&store.id, &cart, &widget, &file));
            Ok(())
        }
        Command::Backup { database, out } => {
            let (db, url) = connect(database, &file).await?;
            match backup::backup(&db, &url, &out).await? {
                Outcome::Written(path) => println!("backup written to {}", path.display()),
                Outcome::Command(cmd) => println!("Postgres: back up with\n  {cmd}"),
            }
            Ok(())
        }
        Command::Keys { command: KeysCommand::Generate } => {
            println!("{}", KeyRing::generate().expose());
            Ok(())
        }
        Command::Keys { command: KeysCommand::Rotate { database } } => {
            let (db, _) = connect(database, &file).await?;
            let resealed = stores::reseal_secrets(&db).await?;
            println!("{resealed} secrets sealed anew with key {}", db.keys()?.current_id());
            Ok(())
        }
        Command::Restore { database, from, force } => {
            let url = file.database_url(database.database_url);
            match backup::restore(&url, &from, force).await? {
                Outcome::Written(path) => println!("restored {} from {}", path.display(), from.display()),
                Outcome::Command(cmd) => println!("Postgres: restore with\n  {cmd}"),
            }
            Ok(())
        }
        Command::Integrity { .. } => unreachable!("`main` runs integrity commands"),
    }
}

async fn integrity_command(command: IntegrityCommand, file: &FileConfig) -> ExitCode {
    let outcome = match command {
        IntegrityCommand::Manifest { widget } => {
            let dir = widget_dir(&widget, file);
            integrity_manifest(&dir, &public_url(&widget, file, None, serves_tls(file))).await.map(|manifest| {
                println!("{}", serde_json::to_string_pretty(&manifest).unwrap_or_default());
                ExitCode::SUCCESS
            })
        }
        IntegrityCommand::Check { url, manifest, widget_dir, json } => {
            integrity_check(&url, manifest.as_deref(), widget_dir, file).await.map(|report| {
                if json {
                    println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
                } else {
                    print!("{report}");
                }
                if report.clean { ExitCode::SUCCESS } else { ExitCode::from(1) }
            })
        }
    };
    outcome.unwrap_or_else(|e| {
        // The causes too: "I/O error" alone does not say which file or host.
        let mut message = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(cause) = source {
            message.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        eprintln!("paylet: {message}");
        ExitCode::from(2)
    })
}

async fn integrity_manifest(dir: &std::path::Path, public_url: &str) -> Result<integrity::Manifest, Error> {
    for card_fields in integrity::BUILDS {
        let page = dir.join(integrity::page_file(card_fields));
        if !page.is_file() {
            return Err(Error::Config(format!("{} is not there; run `cargo xtask widget`", page.display())));
        }
    }
    integrity::manifest(dir, public_url).await
}

/// The expectation is the release's own manifest, never what the checked
/// server says about itself: a tampered server would vouch for its tampering.
async fn integrity_check(
    url: &str,
    manifest: Option<&str>,
    dir: Option<PathBuf>,
    file: &FileConfig,
) -> Result<integrity::Report, Error> {
    let page = reqwest::Url::parse(url).map_err(|e| Error::Config(format!("--url `{url}`: {e}")))?;
    let expected = match manifest {
        Some(source) => integrity::load_manifest(source).await?,
        None => {
            let dir = dir.or_else(|| file.widget_dir.clone()).unwrap_or_else(|| DEFAULT_WIDGET_DIR.into());
            integrity_manifest(&dir, &page.origin().ascii_serialization()).await?
        }
    };
    integrity::check(&page, &expected).await
}

fn embed_snippet(store: &StoreId, cart: &Cart<'_>, widget: &WidgetArgs, file: &FileConfig) -> String {
    let embed_js = std::fs::read(widget_dir(widget, file).join("embed.js")).ok();
    if embed_js.is_none() {
        eprintln!("paylet: the widget is not built, so the snippet has no integrity hash; run `cargo xtask widget`");
    }
    snippet::html(&public_url(widget, file, None, serves_tls(file)), store, cart, embed_js.as_deref())
}

async fn store_command(command: StoreCommand, file: &FileConfig) -> Result<(), Error> {
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
            let (db, _) = connect(database, file).await?;
            let rules = url_rules(&urls, file);
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
                .or(file.card_fields)
                .unwrap_or_else(|| stores::default_card_fields(style, &api_base));
            let mut new = NewStore {
                id: None,
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
            };
            if !no_webhook {
                let http = paylet_gateway::http_client(Duration::from_secs(30));
                let public = public_url(&widget, file, None, serves_tls(file));
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
            let snippet = embed_snippet(&store.id, &Cart::Items("SKU:1"), &widget, file);
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
            let (db, _) = connect(database, file).await?;
            let store = stores::find(&db, &store_id(&store)?).await?;
            let base = public_url(&widget, file, None, serves_tls(file));
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
            let (db, _) = connect(database, file).await?;
            let store = stores::set_card_fields(&db, &store_id(&store)?, mode.into()).await?;
            println!("{} takes cards in {} card fields", store.id, store.gateway.card_fields.as_str());
            Ok(())
        }
        StoreCommand::Notify { store, url, off, database, urls } => {
            let (db, _) = connect(database, file).await?;
            let store = store_id(&store)?;
            let url = if off { None } else { url };
            match stores::set_notify_url(&db, &store, url.as_deref(), url_rules(&urls, file)).await? {
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
            let (db, _) = connect(database, file).await?;
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

async fn product_command(command: ProductCommand, file: &FileConfig) -> Result<(), Error> {
    match command {
        ProductCommand::Add { store, sku, name, price, inactive, database } => {
            let (db, _) = connect(database, file).await?;
            let store = stores::find(&db, &store_id(&store)?).await?;
            let product = Product {
                sku: Sku::parse_field(&sku, "sku")?,
                name,
                price: Money::parse_decimal(&price, store.currency).map_err(|e| Error::Config(e.to_string()))?,
                active: !inactive,
            };
            catalog::add(&db, &store.id, store.currency, &product).await?;
            println!("added {} {} at {}", product.sku.as_str(), product.name, product.price);
            Ok(())
        }
        ProductCommand::List { store, database, json } => {
            let (db, _) = connect(database, file).await?;
            let products = catalog::list_all(&db, &store_id(&store)?).await?;
            if json {
                print_json(&json!({ "data": products }));
            } else {
                for p in products {
                    println!(
                        "{:<20} {:>14}  {}  {}",
                        p.sku.as_str(),
                        p.price,
                        if p.active { "for sale" } else { "inactive" },
                        p.name
                    );
                }
            }
            Ok(())
        }
        ProductCommand::Update { store, sku, name, price, active, database } => {
            let (db, _) = connect(database, file).await?;
            let store = stores::find(&db, &store_id(&store)?).await?;
            let sku = Sku::parse_field(&sku, "sku")?;
            let mut product = catalog::get(&db, &store.id, &sku).await?;
            if let Some(name) = name {
                product.name = name;
            }
            if let Some(price) = price {
                product.price =
                    Money::parse_decimal(&price, store.currency).map_err(|e| Error::Config(e.to_string()))?;
            }
            if let Some(active) = active {
                product.active = active;
            }
            catalog::upsert(&db, &store.id, &product).await?;
            println!("updated {} {} at {}", product.sku.as_str(), product.name, product.price);
            Ok(())
        }
    }
}

fn short_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if secs.is_multiple_of(3600) { format!("{}h", secs / 3600) } else { format!("{secs}s") }
}

/// One duration: `500ms`, `30s`, `10m`, `2h`, `1h 30m`.
fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text).map_err(|e| format!("`{text}` is not a duration like 500ms, 30s, 10m or 2h: {e}"))
}

#[cfg(feature = "sandbox")]
#[derive(Clone)]
struct RetrySchedule(Vec<Duration>);

#[cfg(feature = "sandbox")]
fn parse_schedule(text: &str) -> Result<RetrySchedule, String> {
    paylet_sandbox::parse_retry_schedule(text)
        .map(RetrySchedule)
        .ok_or_else(|| "expected durations like 500ms,2s,1m,1h separated by commas".to_owned())
}

async fn shutdown_signal() {
    let _ = tokio::signal::ctrl_c().await;
    tracing::info!("shutting down");
}
