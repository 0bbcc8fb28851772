//! The `paylet` command line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use paylet::db::Db;
use paylet::demo::{self, DemoOptions};
use paylet::http::recorder::Recorder;
use paylet::telemetry::{self, LogFormat};
use paylet::{Error, ServeOptions};
use paylet_sandbox::{Sandbox, SandboxConfig};
use tokio::net::TcpListener;

#[derive(Parser)]
#[command(name = "paylet", version, about = "The Paylet embeddable checkout: server, sandbox gateway and demo.")]
struct Cli {
    /// Log as human-readable text or as JSON lines.
    #[arg(long, global = true, env = "PAYLET_LOG_FORMAT", value_enum, default_value = "text")]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve {
        /// Address to listen on.
        #[arg(long, env = "PAYLET_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        #[command(flatten)]
        database: DatabaseArgs,
        /// Directory of the built widget (Trunk's dist, with embed.js).
        #[arg(long, env = "PAYLET_WIDGET_DIR", default_value = "widget/dist")]
        widget_dir: PathBuf,
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
        /// TEST ONLY: append every request the server receives to FILE.
        #[arg(long, value_name = "FILE")]
        record_requests: Option<PathBuf>,
    },
}

#[derive(clap::Args)]
struct DatabaseArgs {
    /// `sqlite://PATH` or `postgres://USER@HOST/DB`.
    #[arg(long, env = "PAYLET_DATABASE_URL", default_value = "sqlite://data/paylet.db")]
    database_url: String,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init(cli.log_format);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("paylet: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("paylet: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> Result<(), Error> {
    match command {
        Command::Serve { listen, database, widget_dir, record_requests } => {
            let db = Db::connect(&database.database_url).await?;
            db.migrate().await?;
            let recorder = match record_requests {
                Some(path) => Some(Recorder::create(&path).await?),
                None => None,
            };
            let app = paylet::app(db.clone(), ServeOptions { widget_dir }, recorder);
            let listener = TcpListener::bind(listen).await?;
            tracing::info!(address = %listener.local_addr()?, "paylet server listening");
            paylet::serve(listener, app, shutdown_signal()).await?;
            db.close().await;
            Ok(())
        }
        Command::Migrate { database } => {
            let db = Db::connect(&database.database_url).await?;
            db.migrate().await?;
            println!("migrations applied");
            Ok(())
        }
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
        Command::Demo { data_dir, sandbox_listen, listen, shop_listen, widget_dir, record_requests } => {
            demo::run(DemoOptions { data_dir, sandbox_listen, listen, shop_listen, widget_dir, record_requests }).await
        }
    }
}

#[derive(Clone)]
struct RetrySchedule(Vec<std::time::Duration>);

fn parse_schedule(text: &str) -> Result<RetrySchedule, String> {
    paylet_sandbox::parse_retry_schedule(text)
        .map(RetrySchedule)
        .ok_or_else(|| "expected durations like 500ms,2s,1m,1h separated by commas".to_owned())
}

async fn shutdown_signal() {
    let _ = tokio::signal::ctrl_c().await;
    tracing::info!("shutting down");
}
