//! The `paylet` binary: reads its settings and hands the command to [`cli`].

mod cli;

use std::process::ExitCode;

use clap::Parser;
use paylet::config::FileConfig;
use paylet::telemetry::{self, LogFormat};

use cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let file = match FileConfig::load(cli.config.as_deref()) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("paylet: {e}");
            // For `integrity`, 1 means drift: a check not made is 2.
            return if matches!(cli.command, Command::Integrity { .. }) {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            };
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
        Command::Integrity { command } => return runtime.block_on(cli::integrity::run(command, &file)),
        command => command,
    };
    match runtime.block_on(cli::run(command, file)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("paylet: {e}");
            ExitCode::FAILURE
        }
    }
}
