//! `cargo xtask bench`: load tests against release builds on loopback, with
//! wrk (Debian's) as the load generator. Figures go to BENCHMARKS.md by hand,
//! with the command that produced them; nothing here asserts a speed.

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::setup;
use crate::steps::{Failure, cargo, output, run_step, workspace_root};

pub fn run(what: &str) -> Result<(), Failure> {
    setup::wrk()?;
    run_step("build release server", cargo().args(["build", "--release", "--package", "paylet"]))?;
    match what {
        "sandbox" => sandbox(),
        "orders" => orders(),
        "all" => sandbox().and_then(|()| orders()),
        other => Err(Failure::new("bench", format!("unknown benchmark `{other}`; try `sandbox` or `orders`"))),
    }
}

/// Order creations on SQLite, and on Postgres when `PAYLET_TEST_POSTGRES_URL`
/// is set: first as fast as 64 clients can go (closed loop), then at a fixed
/// rate from up to 64 connections (open loop), where p99 counts from when each
/// request was due: 2,000/s on SQLite (the target), 500/s on Postgres (which
/// shares this machine's two cores with the server and cannot take 2,000).
fn orders() -> Result<(), Failure> {
    run_step("build load generator", cargo().args(["build", "--release", "--package", "paylet-bench"]))?;
    let dir = std::env::temp_dir().join(format!("paylet-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| Failure::new("bench", e.to_string()))?;
    let sqlite = dir.join("bench.db");
    let mut lines = orders_on("SQLite", &format!("sqlite://{}", sqlite.display()), 12921, "2000")?;
    let wal = std::fs::metadata(dir.join("bench.db-wal")).map_or(0, |m| m.len());
    lines.push(format!("SQLite: WAL file at its largest {} MB", wal / 1_000_000));
    match std::env::var("PAYLET_TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty()) {
        Some(base) => lines.extend(orders_on("Postgres", &fresh_postgres(&base, "paylet_bench")?, 12922, "500")?),
        None => println!("\nPostgres: skipped, PAYLET_TEST_POSTGRES_URL is not set"),
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!("\n{}", lines.join("\n"));
    Ok(())
}

fn paylet(args: &[&str], database_url: &str) -> Result<String, Failure> {
    output(
        Command::new(workspace_root().join("target/release/paylet"))
            .args(args)
            .env("PAYLET_DATABASE_URL", database_url)
            .env("RUST_LOG", "warn"),
    )
    .ok_or_else(|| Failure::new("bench", format!("`paylet {}` failed", args.join(" "))))
}

/// Creates a store with one product, serves it, and runs both loads; returns
/// one summary line per run.
fn orders_on(backend: &str, database_url: &str, port: u16, rate: &str) -> Result<Vec<String>, Failure> {
    #[rustfmt::skip]
    let created = paylet(
        &["store", "create", "--name", "Bench", "--origin", "http://localhost", "--currency", "USD",
          "--gateway", "stripe", "--gateway-url", "http://127.0.0.1:1", "--public-key", "pk_bench",
          "--secret-key", "sk_bench", "--json"],
        database_url,
    )?;
    let store = created
        .split('"')
        .skip_while(|s| *s != "store_id")
        .nth(2)
        .ok_or_else(|| Failure::new("bench", format!("no store id in: {created}")))?
        .to_owned();
    paylet(&["product", "add", "--store", &store, "--sku", "TEE", "--name", "Tee", "--price", "25"], database_url)?;
    let listen = format!("127.0.0.1:{port}");
    let server = Server::start_with_env(
        "server",
        &["serve", "--listen", &listen],
        port,
        &[("PAYLET_DATABASE_URL", database_url)],
    )?;
    let base = format!("http://{listen}");
    let mut lines = Vec::new();
    for rate in ["0", rate] {
        let args = ["orders", &base, &store, "--connections", "64", "--rate", rate, "--seconds", "15"];
        println!("\n==> paylet-bench {}", args.join(" "));
        let run = Command::new(workspace_root().join("target/release/paylet-bench"))
            .args(args)
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| Failure::new("bench", format!("cannot run paylet-bench: {e}")))?;
        let out = String::from_utf8_lossy(&run.stdout);
        print!("{out}");
        if !run.status.success() {
            return Err(Failure::new("bench", "some orders failed; see the output above"));
        }
        lines.push(format!("{backend}: {}", out.trim()));
    }
    lines.push(format!("{backend}: peak server memory {}", server.peak_memory()));
    Ok(lines)
}

/// A new, empty database next to `base`'s, for a clean run.
fn fresh_postgres(base: &str, name: &str) -> Result<String, Failure> {
    for sql in [format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"), format!("CREATE DATABASE {name}")] {
        run_step(&format!("postgres: {sql}"), Command::new("psql").args([base, "-q", "-c", &sql]))?;
    }
    let (prefix, _) =
        base.rsplit_once('/').ok_or_else(|| Failure::new("bench", "PAYLET_TEST_POSTGRES_URL has no database name"))?;
    Ok(format!("{prefix}/{name}"))
}

/// Tokenizations per second at one sandbox process.
fn sandbox() -> Result<(), Failure> {
    let port = 12911;
    let server = Server::start("sandbox", &["sandbox", "--listen", &format!("127.0.0.1:{port}")], port)?;
    let result = wrk(&format!("http://127.0.0.1:{port}/v1/tokens"), "bench/tokens.lua", 32, 10);
    let memory = server.peak_memory();
    drop(server);
    let r = result?;
    println!(
        "\nsandbox tokenization: {:.0} requests/s, p50 {}, p99 {}, {} requests, 0 errors, peak memory {memory}",
        r.per_second, r.p50, r.p99, r.requests
    );
    Ok(())
}

/// A release `paylet` process, killed when dropped.
struct Server(Child);

impl Server {
    fn start(what: &str, args: &[&str], port: u16) -> Result<Server, Failure> {
        Server::start_with_env(what, args, port, &[])
    }

    fn start_with_env(what: &str, args: &[&str], port: u16, env: &[(&str, &str)]) -> Result<Server, Failure> {
        let child = Command::new(workspace_root().join("target/release/paylet"))
            .args(args)
            .envs(env.iter().copied())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .current_dir(workspace_root())
            .spawn()
            .map_err(|e| Failure::new(what, format!("cannot start paylet: {e}")))?;
        let server = Server(child);
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if started.elapsed() > Duration::from_secs(20) {
                return Err(Failure::new(what, format!("nothing listens on port {port} after 20 s")));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(server)
    }
}

impl Server {
    /// Peak resident memory (Linux `VmHWM`).
    fn peak_memory(&self) -> String {
        std::fs::read_to_string(format!("/proc/{}/status", self.0.id()))
            .ok()
            .and_then(|s| s.lines().find_map(|l| l.strip_prefix("VmHWM:").map(|v| v.trim().to_owned())))
            .unwrap_or_else(|| "unknown".into())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct WrkResult {
    per_second: f64,
    requests: u64,
    p50: String,
    p99: String,
}

/// Runs wrk (one thread: the other core serves) and fails on any non-2xx.
fn wrk(url: &str, script: &str, connections: u32, seconds: u32) -> Result<WrkResult, Failure> {
    const STEP: &str = "wrk";
    println!("\n==> wrk -t1 -c{connections} -d{seconds}s --latency -s {script} {url}");
    let out = output(
        Command::new("wrk")
            .args(["-t1", &format!("-c{connections}"), &format!("-d{seconds}s"), "--latency", "-s", script, url])
            .current_dir(workspace_root()),
    )
    .ok_or_else(|| Failure::new(STEP, "wrk failed to run"))?;
    print!("{out}");
    if out.contains("Non-2xx") || out.contains("Socket errors") {
        return Err(Failure::new(STEP, "some requests failed; see the output above"));
    }
    let field = |prefix: &str| out.lines().find_map(|l| l.trim().strip_prefix(prefix).map(|v| v.trim().to_owned()));
    let per_second = field("Requests/sec:").and_then(|v| v.parse().ok()).unwrap_or(0.0);
    let requests = out
        .lines()
        .find(|l| l.contains("requests in"))
        .and_then(|l| l.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    Ok(WrkResult { per_second, requests, p50: field("50%").unwrap_or_default(), p99: field("99%").unwrap_or_default() })
}
