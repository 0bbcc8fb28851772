//! `paylet-bench`: drives a running server and prints throughput and latency.
//!
//! Two ways to load it:
//! - closed loop (`--rate 0`): `--connections` clients, each sending its next
//!   request when the last is answered; measures the most the server does.
//! - open loop (`--rate R`): requests start on a fixed schedule, R per second,
//!   on at most `--connections` at once; each latency counts from when the
//!   request was *due*, so a slow server cannot hide its queue (no coordinated
//!   omission).
//!
//! Scenarios:
//! - `orders URL STORE`: `POST /v1/stores/STORE/orders`, one TEE, a fresh
//!   Idempotency-Key each, as the widget sends them.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

struct Options {
    scenario: String,
    base: String,
    store: String,
    connections: usize,
    rate: u64,
    seconds: u64,
    /// Print p99 and max for each second of the run.
    timeline: bool,
}

fn parse() -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    let scenario =
        args.next().ok_or("usage: paylet-bench orders URL STORE [--connections N] [--rate R] [--seconds S]")?;
    let base = args.next().ok_or("missing URL")?;
    let store = args.next().ok_or("missing STORE")?;
    let mut o = Options { scenario, base, store, connections: 64, rate: 0, seconds: 15, timeline: false };
    while let Some(flag) = args.next() {
        if flag == "--timeline" {
            o.timeline = true;
            continue;
        }
        let value: u64 = args.next().and_then(|v| v.parse().ok()).ok_or(format!("{flag} needs a number"))?;
        match flag.as_str() {
            "--connections" => o.connections = usize::try_from(value).map_err(|e| e.to_string())?,
            "--rate" => o.rate = value,
            "--seconds" => o.seconds = value,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(o)
}

/// One request of the scenario; true when it got the expected answer.
async fn order(http: &reqwest::Client, url: &str, key: String) -> bool {
    let body = serde_json::json!({
        "items": [{ "sku": "TEE", "quantity": 2 }],
        "customer": {
            "email": "bench@example.com", "name": "Bench",
            "billing_address": { "line1": "1 Main St", "city": "San Francisco", "postal_code": "94103", "country": "US" }
        }
    });
    match http.post(url).header("Idempotency-Key", key).json(&body).send().await {
        Ok(r) => r.status() == reqwest::StatusCode::CREATED,
        Err(_) => false,
    }
}

struct Results {
    latencies_us: Vec<u64>,
    /// (second of the run, latency) for `--timeline`.
    by_second: Vec<(u64, u64)>,
    errors: u64,
    elapsed: Duration,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let options = match parse() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("paylet-bench: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    if options.scenario != "orders" {
        eprintln!("paylet-bench: unknown scenario `{}`", options.scenario);
        return std::process::ExitCode::from(2);
    }
    let http = reqwest::Client::builder().pool_max_idle_per_host(options.connections).build().unwrap_or_default();
    let url = format!("{}/v1/stores/{}/orders", options.base.trim_end_matches('/'), options.store);
    let run_id = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let results = if options.rate == 0 {
        closed(&options, &http, &url, run_id).await
    } else {
        open(&options, &http, &url, run_id).await
    };
    report(&options, results)
}

async fn closed(o: &Options, http: &reqwest::Client, url: &str, run_id: u128) -> Results {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(o.seconds);
    let counter = Arc::new(AtomicU64::new(0));
    let mut clients = tokio::task::JoinSet::new();
    for _ in 0..o.connections {
        let (http, url, counter) = (http.clone(), url.to_owned(), counter.clone());
        clients.spawn(async move {
            let (mut latencies, mut errors) = (Vec::new(), 0u64);
            while Instant::now() < deadline {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let sent = Instant::now();
                if order(&http, &url, format!("bench-{run_id}-{n}")).await {
                    let second = sent.duration_since(started).as_secs();
                    latencies.push((second, u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX)));
                } else {
                    errors += 1;
                }
            }
            (latencies, errors)
        });
    }
    collect(clients, started).await
}

async fn open(o: &Options, http: &reqwest::Client, url: &str, run_id: u128) -> Results {
    let started = Instant::now();
    let slots = Arc::new(Semaphore::new(o.connections));
    let interval = Duration::from_nanos(1_000_000_000 / o.rate.max(1));
    let total = o.rate * o.seconds;
    let mut requests = tokio::task::JoinSet::new();
    for n in 0..total {
        let due = started + interval * u32::try_from(n).unwrap_or(u32::MAX);
        tokio::time::sleep_until(due.into()).await;
        let (http, url, slots) = (http.clone(), url.to_owned(), slots.clone());
        requests.spawn(async move {
            let _slot = slots.acquire().await;
            let ok = order(&http, &url, format!("bench-{run_id}-{n}")).await;
            // From when it was due: time spent waiting for a free connection counts.
            let latency = u64::try_from(due.elapsed().as_micros()).unwrap_or(u64::MAX);
            let second = due.duration_since(started).as_secs();
            (if ok { vec![(second, latency)] } else { Vec::new() }, u64::from(!ok))
        });
    }
    collect(requests, started).await
}

async fn collect(mut tasks: tokio::task::JoinSet<(Vec<(u64, u64)>, u64)>, started: Instant) -> Results {
    let (mut by_second, mut errors) = (Vec::new(), 0);
    while let Some(done) = tasks.join_next().await {
        if let Ok((l, e)) = done {
            by_second.extend(l);
            errors += e;
        }
    }
    let latencies_us = by_second.iter().map(|(_, l)| *l).collect();
    Results { latencies_us, by_second, errors, elapsed: started.elapsed() }
}

#[allow(clippy::cast_precision_loss)]
fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

fn report(o: &Options, mut r: Results) -> std::process::ExitCode {
    r.latencies_us.sort_unstable();
    let pct = |p: f64| {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]
        let i = ((r.latencies_us.len() as f64 - 1.0) * p).round() as usize;
        r.latencies_us.get(i).map_or(0.0, |us| *us as f64 / 1000.0)
    };
    #[allow(clippy::cast_precision_loss)]
    let per_second = r.latencies_us.len() as f64 / r.elapsed.as_secs_f64();
    let mode = if o.rate == 0 { "closed loop".to_owned() } else { format!("open loop at {}/s", o.rate) };
    println!(
        "{} {mode}, {} connections, {}s: {per_second:.0} ok/s, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, {} ok, {} errors",
        o.scenario,
        o.connections,
        o.seconds,
        pct(0.5),
        pct(0.99),
        pct(1.0),
        r.latencies_us.len(),
        r.errors
    );
    if o.timeline {
        let mut seconds: std::collections::BTreeMap<u64, Vec<u64>> = std::collections::BTreeMap::new();
        for (s, l) in &r.by_second {
            seconds.entry(*s).or_default().push(*l);
        }
        for (s, mut l) in seconds {
            l.sort_unstable();
            let p99 = l[(l.len() - 1) * 99 / 100];
            println!("  second {s:>3}: {:>5} ok, p99 {:>7.2} ms, max {:>7.2} ms", l.len(), ms(p99), ms(l[l.len() - 1]));
        }
    }
    if r.errors > 0 { std::process::ExitCode::FAILURE } else { std::process::ExitCode::SUCCESS }
}
