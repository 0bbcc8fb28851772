//! `paylet sandbox` and `paylet demo`: the offline gateway, alone or with the
//! server and a demo shop (the `sandbox` feature).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::builder::BoolishValueParser;
use paylet::Error;
use paylet::demo::{self, DemoOptions};
use paylet::limits::Limits;
use paylet::outbound::UrlRules;
use paylet_sandbox::{Sandbox, SandboxConfig};
use tokio::net::TcpListener;

use super::{limits, shutdown_signal};

#[derive(clap::Args)]
pub struct SandboxArgs {
    #[arg(long, env = "PAYLET_SANDBOX_LISTEN", default_value = "127.0.0.1:12111")]
    listen: SocketAddr,
    /// Keep accounts, objects and pending webhook deliveries in FILE across restarts.
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
    /// Waits between webhook retries, e.g. `1s,5s,30s` (default: 1, 2, 4, 8, 16, 32 minutes, then hourly to 72 h).
    #[arg(long, value_name = "LIST", value_parser = parse_schedule)]
    webhook_retry_schedule: Option<RetrySchedule>,
}

#[derive(clap::Args)]
pub struct DemoArgs {
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
}

/// Runs the sandbox gateway until Ctrl-C.
pub async fn run_sandbox(args: SandboxArgs) -> Result<(), Error> {
    let SandboxArgs { listen, state, webhook_retry_schedule } = args;
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

/// Runs the sandbox, the server and the demo shop until Ctrl-C.
pub async fn run_demo(args: DemoArgs) -> Result<(), Error> {
    let DemoArgs {
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
    } = args;
    let tls = tls_cert.zip(tls_key);
    let limits = limits(Limits::default(), &rate_limits)?;
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

#[derive(Clone)]
pub struct RetrySchedule(Vec<Duration>);

fn parse_schedule(text: &str) -> Result<RetrySchedule, String> {
    paylet_sandbox::parse_retry_schedule(text)
        .map(RetrySchedule)
        .ok_or_else(|| "expected durations like 500ms,2s,1m,1h separated by commas".to_owned())
}
