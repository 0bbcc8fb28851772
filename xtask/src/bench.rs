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
        "sandbox" | "all" => sandbox(),
        other => Err(Failure::new("bench", format!("unknown benchmark `{other}`; try `sandbox`"))),
    }
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
        let child = Command::new(workspace_root().join("target/release/paylet"))
            .args(args)
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
