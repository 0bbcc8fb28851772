//! The `paylet` binary: reads its settings and hands the command to [`cli`].

mod cli;

use std::process::ExitCode;

use clap::Parser;
use paylet::config::Layers;
use paylet::telemetry;

use cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let layers = match Layers::load(cli.config.as_deref()).and_then(|file| {
        let layers = file.with(&cli);
        layers.resolve().map(|config| (layers, config))
    }) {
        Ok(loaded) => loaded,
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
    let (layers, config) = layers;
    telemetry::init(config.log_format);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("paylet: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Its own exit status: drift (1) is not a failure to check (2).
    let command = match cli.command {
        Command::Integrity { command } => return runtime.block_on(cli::integrity::run(command, &layers)),
        command => command,
    };
    match runtime.block_on(cli::run(command, &layers)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("paylet: {e}");
            ExitCode::FAILURE
        }
    }
}
