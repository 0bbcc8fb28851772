//! `cargo xtask bench`: load tests against release builds on loopback, with
//! wrk (Debian's) or `paylet-bench` (bench/) as the load generator, and the
//! widget's size and load time in headless Chromium. Figures go to BENCHMARKS.md by hand, with the command
//! that produced them; nothing here asserts a speed. `fuzz` runs the
//! cargo-fuzz targets in `fuzz/` for a bounded time each and fails on a crash.

use std::collections::BTreeSet;
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::compress::sibling;
use crate::setup;
use crate::steps::{Failure, cargo, output, postgres_url, run_step, workspace_root};

const BENCHES: [&str; 6] = ["sandbox", "orders", "webhooks", "load", "widget", "fuzz"];

pub fn run(what: &str) -> Result<(), Failure> {
    let chosen: Vec<&str> = match what {
        "all" => BENCHES.to_vec(),
        name if BENCHES.contains(&name) => vec![name],
        other => {
            return Err(Failure::new(
                "bench",
                format!(
                    "unknown benchmark `{other}`; try `sandbox`, `orders`, `webhooks`, `load`, `widget`, `fuzz` or `all`"
                ),
            ));
        }
    };
    if chosen.iter().any(|name| !matches!(*name, "widget" | "fuzz")) {
        setup::wrk()?;
    }
    if chosen.contains(&"widget") {
        // Chromium and playwright-core, and the widget as it is now.
        setup::run(true)?;
        crate::build_widget()?;
    }
    if chosen.iter().any(|name| *name != "fuzz") {
        run_step("build release server", cargo().args(["build", "--release", "--package", "paylet"]))?;
    }
    for name in chosen {
        match name {
            "sandbox" => sandbox()?,
            "orders" => orders()?,
            "webhooks" => webhooks()?,
            "load" => load()?,
            "fuzz" => fuzz()?,
            _ => widget()?,
        }
    }
    Ok(())
}

/// Brotli budget for everything the widget's iframe downloads before it is
/// interactive (page, scripts, WASM, styles), and gzip budget for `embed.js`.
const WIDGET_BUDGET_BR: u64 = 120_000;
const EMBED_JS_BUDGET_GZ: u64 = 4_000;

/// What the checkout costs a shopper: the compressed bytes of the widget
/// (as `cargo xtask widget` wrote them, which is what the server sends), and
/// the time from `embed.js` to the card fields in headless Chromium
/// (`e2e/bench/load.js`, against `paylet demo` from the release build).
fn widget() -> Result<(), Failure> {
    let dist = workspace_root().join("widget/dist");
    let mut lines = widget_sizes(&dist, "Paylet's card fields")?;
    lines.extend(widget_sizes(&dist.join("gateway"), "the gateway's card fields")?);
    lines.push(embed_js_size(&dist)?);
    println!("\n{}", lines.join("\n"));
    println!("\n==> node bench/load.js --samples 20 (in e2e/; headless Chromium, several minutes)");
    let run = Command::new("node")
        .args(["bench/load.js", "--samples", "20"])
        .current_dir(workspace_root().join("e2e"))
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| Failure::new("widget load", format!("cannot run node: {e}")))?;
    if !run.status.success() {
        return Err(Failure::new("widget load", format!("node bench/load.js exited with {}", run.status)));
    }
    lines.extend(String::from_utf8_lossy(&run.stdout).lines().map(str::to_owned));
    println!("\n{}", lines.join("\n"));
    Ok(())
}

/// One line per file the page of the widget built in `dist` loads, with its
/// size as is, brotli and gzip; and the totals against the budget.
fn widget_sizes(dist: &Path, build: &str) -> Result<Vec<String>, Failure> {
    let read = |name: &str| {
        std::fs::read(dist.join(name)).map_err(|e| {
            Failure::new(SIZES, format!("{}: {e}; `cargo xtask widget` builds it", dist.join(name).display()))
        })
    };
    let mut lines = vec![format!(
        "{:<52} {:>10} {:>10} {:>10}",
        format!("widget with {build}: what the iframe loads"),
        "raw",
        "brotli",
        "gzip"
    )];
    let mut total = [0u64; 3];
    for name in loaded_by_page(dist, &read)? {
        let s = sizes(dist, &name)?;
        total.iter_mut().zip(s).for_each(|(t, s)| *t += s);
        lines.push(format!("  {name:<50} {:>10} {:>10} {:>10}", kb(s[0]), kb(s[1]), kb(s[2])));
    }
    lines.push(format!("  {:<50} {:>10} {:>10} {:>10}", "total", kb(total[0]), kb(total[1]), kb(total[2])));
    lines.push(format!(
        "widget with {build}: {} brotli against a budget of {} ({})",
        kb(total[1]),
        kb(WIDGET_BUDGET_BR),
        verdict(total[1], WIDGET_BUDGET_BR)
    ));
    Ok(lines)
}

/// `embed.js`, which the merchant's page loads, against its gzip budget.
fn embed_js_size(dist: &Path) -> Result<String, Failure> {
    let embed = sizes(dist, "embed.js")?;
    Ok(format!(
        "embed.js: {} gzip ({} raw, {} brotli) against a budget of {} gzip ({})",
        kb(embed[2]),
        kb(embed[0]),
        kb(embed[1]),
        kb(EMBED_JS_BUDGET_GZ),
        verdict(embed[2], EMBED_JS_BUDGET_GZ)
    ))
}

const SIZES: &str = "widget sizes";

/// The file `name` in `dist` as is, and its brotli and gzip copies, in bytes.
fn sizes(dist: &Path, name: &str) -> Result<[u64; 3], Failure> {
    let missing = |e: std::io::Error| Failure::new(SIZES, format!("{name} or its .br/.gz copy: {e}"));
    let path = dist.join(name);
    let size = |path: &Path| std::fs::metadata(path).map(|m| m.len()).map_err(missing);
    Ok([size(&path)?, size(&sibling(&path, "br"))?, size(&sibling(&path, "gz"))?])
}

/// `index.html` and every file in `dist` it names, and the files those name
/// in turn (scripts importing scripts, styles naming fonts), in that order.
fn loaded_by_page(dist: &Path, read: &dyn Fn(&str) -> Result<Vec<u8>, Failure>) -> Result<Vec<String>, Failure> {
    let all = asset_names(dist, dist)?;
    let mut loaded = vec!["index.html".to_owned()];
    let mut seen: BTreeSet<String> = loaded.iter().cloned().collect();
    let mut next = 0;
    while let Some(name) = loaded.get(next).cloned() {
        next += 1;
        if ![".html", ".js", ".css"].iter().any(|ext| name.ends_with(ext)) {
            continue;
        }
        let text = String::from_utf8_lossy(&read(&name)?).into_owned();
        for other in &all {
            // `embed.js` is the merchant page's, not the widget's.
            if other != "embed.js" && !seen.contains(other) && text.contains(other.as_str()) {
                seen.insert(other.clone());
                loaded.push(other.clone());
            }
        }
    }
    Ok(loaded)
}

/// The files under `dir`, relative to `root`, without the compressed copies.
fn asset_names(root: &Path, dir: &Path) -> Result<Vec<String>, Failure> {
    let mut names = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| Failure::new(SIZES, format!("{}: {e}", dir.display())))?;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            names.extend(asset_names(root, &path)?);
        } else if !path.extension().is_some_and(|e| e == "br" || e == "gz") {
            names.push(path.strip_prefix(root).unwrap_or(&path).to_string_lossy().replace('\\', "/"));
        }
    }
    Ok(names)
}

/// Bytes as kilobytes of 1,000 bytes, the unit of the budgets.
fn kb(bytes: u64) -> String {
    format!("{:.1} KB", bytes as f64 / 1000.0)
}

fn verdict(size: u64, budget: u64) -> &'static str {
    if size <= budget { "within budget" } else { "OVER BUDGET" }
}

/// Order creations on SQLite, and on Postgres when `PAYLET_TEST_POSTGRES_URL`
/// is set: first as fast as 64 clients can go (closed loop), then at a fixed
/// rate from up to 64 connections (open loop), where p99 counts from when each
/// request was due: 2,000/s on SQLite (the target), 500/s on Postgres (which
/// shares this machine's two cores with the server and cannot take 2,000).
fn orders() -> Result<(), Failure> {
    on_each_backend("orders", |backend, database_url| {
        let (port, rate) = if backend == SQLITE { (12921, "2000") } else { (12922, "500") };
        let mut lines = orders_on(backend, database_url, port, rate)?;
        if let Some(file) = database_url.strip_prefix("sqlite://") {
            let wal = std::fs::metadata(format!("{file}-wal")).map_or(0, |m| m.len());
            lines.push(format!("{backend}: WAL file at its largest {} MB", wal / 1_000_000));
        }
        Ok(lines)
    })
}

const SQLITE: &str = "SQLite";

/// Builds the load generator, runs `one` on a fresh SQLite file and (with
/// `PAYLET_TEST_POSTGRES_URL`) a fresh Postgres database, and prints the
/// lines both returned.
fn on_each_backend(name: &str, one: impl Fn(&str, &str) -> Result<Vec<String>, Failure>) -> Result<(), Failure> {
    run_step("build load generator", cargo().args(["build", "--release", "--package", "paylet-bench"]))?;
    let dir = std::env::temp_dir().join(format!("paylet-bench-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| Failure::new("bench", e.to_string()))?;
    let mut lines = one(SQLITE, &format!("sqlite://{}", dir.join("bench.db").display()))?;
    match postgres_url() {
        Some(base) => lines.extend(one("Postgres", &fresh_postgres(&base, &format!("paylet_bench_{name}"))?)?),
        None => println!("\nPostgres: skipped, PAYLET_TEST_POSTGRES_URL is not set"),
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!("\n{}", lines.join("\n"));
    Ok(())
}

/// A store on `gateway_url` selling one $25 product. With `webhooks_to`, the
/// gateway (which must be running) is told to send its webhooks to that
/// server; without, they stay off until `paylet store webhook`.
fn bench_store(
    database_url: &str,
    gateway_url: &str,
    public_key: &str,
    secret_key: &str,
    webhooks_to: Option<&str>,
) -> Result<BenchStore, Failure> {
    #[rustfmt::skip]
    let mut args = vec!["store", "create", "--name", "Bench", "--origin", "http://localhost", "--currency", "USD",
                        "--gateway", "stripe", "--gateway-url", gateway_url, "--public-key", public_key,
                        "--secret-key", secret_key, "--json"];
    match webhooks_to {
        Some(server) => args.extend(["--public-url", server]),
        None => args.push("--no-webhook"),
    }
    let created = paylet(&args, database_url)?;
    let store = BenchStore { id: json_field(&created, "store_id")?, admin_key: json_field(&created, "admin_key")? };
    paylet(&["product", "add", "--store", &store.id, "--sku", "TEE", "--name", "Tee", "--price", "25"], database_url)?;
    Ok(store)
}

struct BenchStore {
    id: String,
    admin_key: String,
}

/// Seals the bench stores' secrets (a real deployment keeps its key out of the code).
const MASTER_KEY: (&str, &str) = ("PAYLET_MASTER_KEY", "YmVuY2ggbWFzdGVyIGtleSwgbm90IGEgc2VjcmV0ISE=");
/// The load comes from one address and one store: the limits are counted, as
/// in production, but set out of reach.
const RATE_LIMITS: (&str, &str) = (
    "PAYLET_RATE_LIMITS",
    "orders_per_ip=4000000000,orders_per_store=4000000000,payments_per_ip=4000000000,payments_per_store=4000000000",
);

/// The bench's shop origin, gateway and servers are http on this machine.
const URL_RULES: [(&str, &str); 2] = [("PAYLET_ALLOW_HTTP_URLS", "true"), ("PAYLET_ALLOW_PRIVATE_NOTIFY_URLS", "true")];

fn paylet(args: &[&str], database_url: &str) -> Result<String, Failure> {
    output(
        Command::new(workspace_root().join("target/release/paylet"))
            .args(args)
            .env("PAYLET_DATABASE_URL", database_url)
            .env(MASTER_KEY.0, MASTER_KEY.1)
            .envs(URL_RULES)
            .env("RUST_LOG", "warn"),
    )
    .ok_or_else(|| Failure::new("bench", format!("`paylet {}` failed", args.join(" "))))
}

/// Creates a store with one product, serves it, and runs both loads; returns
/// one summary line per run.
fn orders_on(backend: &str, database_url: &str, port: u16, rate: &str) -> Result<Vec<String>, Failure> {
    let store = bench_store(database_url, "http://127.0.0.1:1", "pk_bench", "sk_bench", None)?.id;
    let listen = format!("127.0.0.1:{port}");
    let server = Server::start_with_env(
        "server",
        &["serve", "--listen", &listen],
        port,
        &[("PAYLET_DATABASE_URL", database_url), MASTER_KEY, RATE_LIMITS],
    )?;
    let base = format!("http://{listen}");
    let mut lines = Vec::new();
    for rate in ["0", rate] {
        let cpu = server.cpu();
        let out = paylet_bench(&["orders", &base, &store, "--connections", "64", "--rate", rate, "--seconds", "15"])?;
        lines.push(format!("{backend}: {}", out.trim()));
        lines.push(format!("{backend}: {}", cpu_per_request(&server, cpu, &out)));
    }
    lines.push(format!("{backend}: peak server memory {}", server.peak_memory()));
    Ok(lines)
}

/// Runs the load generator; its report, or a failure if any request failed.
fn paylet_bench(args: &[&str]) -> Result<String, Failure> {
    println!("\n==> paylet-bench {}", args.join(" "));
    let run = Command::new(workspace_root().join("target/release/paylet-bench"))
        .args(args)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| Failure::new("bench", format!("cannot run paylet-bench: {e}")))?;
    let out = String::from_utf8_lossy(&run.stdout).into_owned();
    print!("{out}");
    if !run.status.success() {
        return Err(Failure::new("bench", "some requests or checks failed; see the output above"));
    }
    Ok(out)
}

/// A string field of `paylet store create --json` output.
fn json_field(created: &str, name: &str) -> Result<String, Failure> {
    created
        .split('"')
        .skip_while(|s| *s != name)
        .nth(2)
        .map(str::to_owned)
        .ok_or_else(|| Failure::new("bench", format!("no {name} in: {created}")))
}

/// Verified gateway webhooks per second, on SQLite and (with
/// `PAYLET_TEST_POSTGRES_URL`) Postgres: a sandbox gateway, a store charging
/// through it, orders waiting on 3-D Secure there, and then signed events
/// about their payments as fast as 64 clients can send them.
fn webhooks() -> Result<(), Failure> {
    let sandbox_port = 12931;
    let _sandbox =
        Server::start("sandbox", &["sandbox", "--listen", &format!("127.0.0.1:{sandbox_port}")], sandbox_port)?;
    on_each_backend("webhooks", |backend, database_url| {
        let port = if backend == SQLITE { 12932 } else { 12933 };
        webhooks_on(backend, database_url, sandbox_port, port)
    })
}

fn webhooks_on(backend: &str, database_url: &str, sandbox_port: u16, port: u16) -> Result<Vec<String>, Failure> {
    const SECRET: &str = "whsec_paylet_bench_secret";
    let gateway = format!("http://127.0.0.1:{sandbox_port}");
    let store = bench_store(database_url, &gateway, "pk_test_paylet_demo", "sk_test_paylet_demo", None)?.id;
    paylet(&["store", "webhook", "--store", &store, "--secret", SECRET, "--overlap", "0s"], database_url)?;
    let listen = format!("127.0.0.1:{port}");
    let env =
        [("PAYLET_DATABASE_URL", database_url), ("PAYLET_PUBLIC_URL", "http://127.0.0.1"), MASTER_KEY, RATE_LIMITS];
    let server = Server::start_with_env("server", &["serve", "--listen", &listen], port, &env)?;
    #[rustfmt::skip]
    let args = ["webhooks", &format!("http://{listen}"), &store, "--sandbox", &gateway, "--secret", SECRET,
                "--orders", "3000", "--connections", "64", "--seconds", "15"];
    let cpu = server.cpu();
    let out = paylet_bench(&args)?;
    let mut lines: Vec<String> = out.lines().map(|l| format!("{backend}: {}", l.trim())).collect();
    // The run's 3,000 orders, made before the events, count in it too.
    lines.push(format!("{backend}: {}", cpu_per_request(&server, cpu, &out)));
    lines.push(format!("{backend}: peak server memory {}", server.peak_memory()));
    Ok(lines)
}

/// The server's CPU time over a run of the load generator that reported
/// `out`, per request it answered: a figure that, unlike a rate, does not
/// move with what else the machine's cores are doing meanwhile.
fn cpu_per_request(server: &Server, before: Option<Duration>, out: &str) -> String {
    let ok = out.split(" ok,").next().and_then(|s| s.rsplit(' ').next()).and_then(|n| n.parse::<u32>().ok());
    match (before, server.cpu(), ok) {
        (Some(before), Some(after), Some(ok)) if ok > 0 => {
            let used = after.saturating_sub(before);
            format!(
                "server CPU {:.1} s, {:.0} µs per request",
                used.as_secs_f64(),
                used.as_secs_f64() * 1e6 / f64::from(ok)
            )
        }
        _ => "server CPU unknown".to_owned(),
    }
}

/// Shoppers checking out while the gateway's webhooks arrive, for
/// `PAYLET_LOAD_SECONDS` (default 60): one server on SQLite, two on one
/// Postgres database (with `PAYLET_TEST_POSTGRES_URL`); then an audit of every
/// payment the gateway took against every order. The workload is described in
/// `bench/src/load.rs`.
fn load() -> Result<(), Failure> {
    let seconds = seconds_from_env("PAYLET_LOAD_SECONDS", 60)?.to_string();
    on_each_backend("load", |backend, database_url| {
        let (first_port, instances) = if backend == SQLITE { (12941, 1) } else { (12951, 2) };
        load_on(backend, database_url, first_port, instances, &seconds)
    })
}

/// A sandbox on `first_port` and `instances` servers on the ports after it.
fn load_on(
    backend: &str,
    database_url: &str,
    first_port: u16,
    instances: u16,
    seconds: &str,
) -> Result<Vec<String>, Failure> {
    // A sandbox of its own, so the audit sees this run's payments only. A
    // failed delivery is retried within seconds (not the default minute), so
    // the run still settles; the load generator counts it as an error.
    let gateway = format!("127.0.0.1:{first_port}");
    let schedule = ["--webhook-retry-schedule", "1s,2s,5s"];
    let _sandbox = Server::start("sandbox", &["sandbox", "--listen", &gateway, schedule[0], schedule[1]], first_port)?;
    let gateway = format!("http://{gateway}");
    let ports: Vec<u16> = (1..=instances).map(|i| first_port + i).collect();
    let urls: Vec<String> = ports.iter().map(|port| format!("http://127.0.0.1:{port}")).collect();
    // Every webhook goes to the first server: a store registers one URL.
    let store = bench_store(database_url, &gateway, "pk_test_paylet_demo", "sk_test_paylet_demo", Some(&urls[0]))?;
    let mut servers = Vec::new();
    let mut metrics = Vec::new();
    for (port, url) in ports.iter().zip(&urls) {
        let listen = format!("127.0.0.1:{port}");
        // Each instance's metrics on an address of its own, as on separate hosts.
        let metrics_listen = format!("127.0.0.1:{}", port + 100);
        let env = [("PAYLET_DATABASE_URL", database_url), ("PAYLET_PUBLIC_URL", url), MASTER_KEY, RATE_LIMITS];
        let args = ["serve", "--listen", &listen, "--metrics-listen", &metrics_listen];
        servers.push(Server::start_with_env("server", &args, *port, &env)?);
        metrics.push(format!("http://{metrics_listen}"));
    }
    #[rustfmt::skip]
    let args = ["load", &urls.join(","), &store.id, "--sandbox", &gateway, "--admin-key", &store.admin_key,
                "--metrics", &metrics.join(","), "--connections", "32", "--seconds", seconds];
    let out = paylet_bench(&args)?;
    let mut lines: Vec<String> = out.lines().map(|l| format!("{backend}: {}", l.trim())).collect();
    for (i, server) in servers.iter().enumerate() {
        lines.push(format!("{backend}: peak memory of server {} {}", i + 1, server.peak_memory()));
    }
    Ok(lines)
}

/// A number of seconds from the environment variable `name`, or `default`.
fn seconds_from_env(name: &str, default: u64) -> Result<u64, Failure> {
    match std::env::var(name) {
        Ok(s) => s.parse().map_err(|_| Failure::new("bench", format!("{name}={s} is not a number"))),
        Err(_) => Ok(default),
    }
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
            .envs(URL_RULES)
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
    /// The CPU time the process has used, user and system, all its threads
    /// (Linux `/proc/PID/stat`, in ticks of 1/100 s, Linux's USER_HZ).
    fn cpu(&self) -> Option<Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.0.id())).ok()?;
        // The fields after the command's name, which is in parentheses: utime and stime are the 12th and 13th.
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
        Some(Duration::from_millis(ticks * 10))
    }

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

/// The cargo-fuzz targets in `fuzz/`, in the order they run.
const FUZZ_TARGETS: [&str; 5] = ["webhook_stripe", "webhook_square", "webhook_standard", "card_scan", "api_json"];
const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// Each cargo-fuzz target for `PAYLET_FUZZ_SECONDS` (default 60) under
/// AddressSanitizer (`PAYLET_FUZZ_SANITIZER=none` to go without), keeping its
/// corpus in `fuzz/corpus/<target>` between runs and seeded from
/// `fuzz/seeds/<target>`. Fails if any target finds a crash; its input is in
/// `fuzz/artifacts/<target>/`.
///
/// cargo-fuzz passes `-Zsanitizer=address` to rustc, which only a nightly
/// compiler accepts; `RUSTC_BOOTSTRAP=1` lets the stable one (which ships the
/// sanitizer runtimes and the coverage passes libFuzzer needs) take it.
fn fuzz() -> Result<(), Failure> {
    const STEP: &str = "fuzz";
    cargo_fuzz()?;
    let seconds = seconds_from_env("PAYLET_FUZZ_SECONDS", 60)?;
    let sanitizer = std::env::var("PAYLET_FUZZ_SANITIZER").unwrap_or_else(|_| "address".into());
    let dir = workspace_root().join("fuzz");
    let fuzz_cargo = || {
        let mut command = cargo();
        command.arg("fuzz").env("RUSTC_BOOTSTRAP", "1").current_dir(&dir);
        command
    };
    run_step(
        &format!("build fuzz targets (cargo fuzz build, sanitizer {sanitizer})"),
        fuzz_cargo().args(["build", "--sanitizer", &sanitizer]),
    )?;
    let mut lines = vec![format!(
        "{:<18} {:>9} {:>13} {:>9} {:>8}",
        format!("fuzz ({sanitizer})"),
        "seconds",
        "executions",
        "exec/s",
        "crashes"
    )];
    let mut crashed = Vec::new();
    for target in FUZZ_TARGETS {
        println!("\n==> cargo fuzz run {target} for {seconds} s");
        let corpus = dir.join("corpus").join(target);
        std::fs::create_dir_all(&corpus).map_err(|e| Failure::new(STEP, format!("{}: {e}", corpus.display())))?;
        let mut run = fuzz_cargo();
        run.args(["run", target, "--sanitizer", &sanitizer]).arg(&corpus);
        let seeds = dir.join("seeds").join(target);
        if seeds.is_dir() {
            run.arg(&seeds);
        }
        run.args(["--", &format!("-max_total_time={seconds}"), "-print_final_stats=1"]);
        let started = Instant::now();
        let out = run.output().map_err(|e| Failure::new(STEP, format!("cannot run cargo fuzz: {e}")))?;
        let elapsed = started.elapsed().as_secs_f64();
        let log = String::from_utf8_lossy(&out.stderr);
        let stat = |name: &str| {
            log.lines().find_map(|l| l.strip_prefix(name)?.trim_start_matches(':').trim().parse::<u64>().ok())
        };
        let execs = stat("stat::number_of_executed_units").unwrap_or(0);
        let per_second = stat("stat::average_exec_per_sec").unwrap_or(0);
        // libFuzzer writes each crash (and timeout or out-of-memory input) to
        // `artifacts/` and stops at the first.
        let crashes = log.lines().filter(|l| l.contains("Test unit written to")).count();
        if !out.status.success() && crashes == 0 {
            println!("{log}");
            return Err(Failure::new(STEP, format!("`cargo fuzz run {target}` exited with {}", out.status)));
        }
        if crashes > 0 {
            let tail: Vec<&str> = log.lines().rev().take(60).collect::<Vec<_>>().into_iter().rev().collect();
            println!("{}", tail.join("\n"));
            crashed.push(target);
        }
        let line = format!("{target:<18} {elapsed:>9.0} {execs:>13} {per_second:>9} {crashes:>8}");
        println!("{line}");
        lines.push(line);
    }
    println!("\n{}", lines.join("\n"));
    if crashed.is_empty() {
        Ok(())
    } else {
        Err(Failure::new(STEP, format!("{} crashed; the inputs are in fuzz/artifacts/<target>/", crashed.join(", "))))
    }
}

/// cargo-fuzz from crates.io, unless it is installed.
fn cargo_fuzz() -> Result<(), Failure> {
    if let Some(version) = output(cargo().args(["fuzz", "--version"])) {
        println!("  ok  cargo-fuzz: {}", version.trim());
        return Ok(());
    }
    run_step(
        &format!("install cargo-fuzz {CARGO_FUZZ_VERSION} (cargo install, a few minutes)"),
        cargo().args(["install", &format!("cargo-fuzz@{CARGO_FUZZ_VERSION}"), "--locked"]),
    )
}
