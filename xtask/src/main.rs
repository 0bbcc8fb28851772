//! `cargo xtask`: every set-up and build step the README promises, in Rust, so
//! a fresh machine needs nothing but Rust and root.
//!
//! - `setup [--tests]`: installs what is missing (idempotent).
//! - `widget`: builds the widget with Trunk into `widget/dist` (and the build
//!   with the gateway's card fields into `widget/dist/gateway`), and writes a
//!   brotli and a gzip copy next to each of its scripts, WASM, styles and page.
//! - `demo`: set-up, widget, then `paylet demo`.
//! - `test`: set-up for tests, then formatting, lints, unit and integration
//!   tests (SQLite, and Postgres when `PAYLET_TEST_POSTGRES_URL` is set), and
//!   the e2e suite in headless Chromium.
//! - `bench [name]`: load tests against release builds (figures for BENCHMARKS.md);
//!   `bench fuzz` runs the cargo-fuzz targets in `fuzz/` for a bounded time.

mod bench;
mod compress;
mod setup;
mod steps;

use std::process::ExitCode;

use steps::{Failure, cargo, run_step, workspace_root};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("setup") => setup::run(args.iter().any(|a| a == "--tests")),
        Some("widget") => setup::run(false).and_then(|()| build_widget()),
        Some("demo") => demo(&args[1..]),
        Some("test") => test(),
        Some("bench") => bench::run(args.get(1).map_or("all", String::as_str)),
        _ => {
            eprintln!(
                "usage: cargo xtask <setup [--tests] | widget | demo [paylet demo flags] | test | bench [sandbox | orders | webhooks | load | widget | fuzz | all]>"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("\nxtask: step `{}` failed: {}", failure.step, failure.reason);
            ExitCode::FAILURE
        }
    }
}

/// Two builds of the widget, one per kind of card fields, each within the size
/// budget (`GATEWAY_FIELDS` in widget/src/main.rs): Paylet's fields into
/// `widget/dist`, the gateway's into `widget/dist/gateway`, which the server
/// serves under `/widget/gateway/`. Paylet's first: Trunk empties its `dist`.
fn build_widget() -> Result<(), Failure> {
    let root = workspace_root();
    let npm_bin = root.join("widget/node_modules/.bin");
    let path = format!("{}:{}", npm_bin.display(), std::env::var("PATH").unwrap_or_default());
    let builds: [(&str, &[&str]); 2] = [
        ("build widget (Paylet's card fields)", &[]),
        (
            "build widget (the gateway's card fields)",
            &["--features", "gateway-fields", "--dist", "widget/dist/gateway", "--public-url", "/widget/gateway/"],
        ),
    ];
    // Trunk's wasm-bindgen output is shared by both builds and never emptied:
    // the gateway's build's card_sdk.js would ship with Paylet's.
    let snippets = steps::target_dir()?.join("wasm-bindgen/release/snippets");
    for (step, args) in builds {
        if let Err(e) = std::fs::remove_dir_all(&snippets)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            return Err(Failure::new(step, format!("{}: {e}", snippets.display())));
        }
        run_step(
            step,
            std::process::Command::new("trunk")
                .args(["build", "--release", "--offline"])
                .args(args)
                .env("PATH", &path)
                .current_dir(&root),
        )?;
    }
    // The merchant's page loads `embed.js` from the top of `dist` only.
    let stray = root.join("widget/dist/gateway/embed.js");
    if let Err(e) = std::fs::remove_file(&stray)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        return Err(Failure::new("build widget", format!("{}: {e}", stray.display())));
    }
    compress::precompress(&root.join("widget/dist")).map(drop)
}

fn demo(extra: &[String]) -> Result<(), Failure> {
    setup::run(false)?;
    build_widget()?;
    run_step("build server", cargo().args(["build", "--package", "paylet"]))?;
    let binary = workspace_root().join("target/debug/paylet");
    run_step("run demo", std::process::Command::new(binary).arg("demo").args(extra).current_dir(workspace_root()))
}

fn test() -> Result<(), Failure> {
    setup::run(true)?;
    let postgres = steps::postgres_url();
    if let Some(url) = &postgres {
        setup::check_postgres(url)?;
    }
    run_step("check formatting", cargo().args(["fmt", "--all", "--check"]))?;
    run_step("lint", cargo().args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]))?;
    run_step(
        "lint the server built without the sandbox",
        cargo().args(["clippy", "--package", "paylet", "--no-default-features", "--", "-D", "warnings"]),
    )?;
    build_widget()?;
    run_step("unit and integration tests (SQLite)", cargo().args(["test", "--workspace"]))?;
    match &postgres {
        Some(url) => run_step(
            "integration tests (Postgres)",
            cargo()
                .args(["test", "--package", "paylet", "--test", "api"])
                .env("PAYLET_TEST_DATABASE", "postgres")
                .env("PAYLET_TEST_POSTGRES_URL", url),
        )?,
        None => println!("\n==> integration tests (Postgres): skipped, PAYLET_TEST_POSTGRES_URL is not set"),
    }
    run_step("build server for e2e", cargo().args(["build", "--package", "paylet"]))?;
    run_step(
        "e2e tests (headless Chromium)",
        std::process::Command::new("npm").args(["test"]).current_dir(workspace_root().join("e2e")),
    )
}
