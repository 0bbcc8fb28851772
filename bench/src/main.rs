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
//! - `webhooks URL STORE --sandbox SANDBOX_URL --secret WHSEC [--orders N]`:
//!   first makes N orders wait on 3-D Secure (order, token at the sandbox,
//!   payment), then sends Stripe-style `payment_intent.succeeded` events
//!   signed with the store's secret: each a new event id for one of those
//!   payments, every fifth a duplicate of the one before. The first event
//!   for a payment moves its order to paid; afterwards every order is checked.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use paylet_secret::Secret;
use serde_json::{Value, json};
use tokio::sync::Semaphore;

const USAGE: &str = "usage: paylet-bench orders|webhooks URL STORE [--connections N] [--rate R] [--seconds S] \
                     [--sandbox URL --secret WHSEC --orders N] [--timeline]";

struct Options {
    scenario: String,
    base: String,
    store: String,
    connections: usize,
    rate: u64,
    seconds: u64,
    /// Print p99 and max for each second of the run.
    timeline: bool,
    sandbox: String,
    secret: String,
    orders: u64,
}

fn parse() -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    let scenario = args.next().ok_or(USAGE)?;
    let base = args.next().ok_or("missing URL")?.trim_end_matches('/').to_owned();
    let store = args.next().ok_or("missing STORE")?;
    let mut o = Options {
        scenario,
        base,
        store,
        connections: 64,
        rate: 0,
        seconds: 15,
        timeline: false,
        sandbox: String::new(),
        secret: String::new(),
        orders: 2000,
    };
    while let Some(flag) = args.next() {
        if flag == "--timeline" {
            o.timeline = true;
            continue;
        }
        let text = args.next().ok_or(format!("{flag} needs a value"))?;
        let number = || text.parse::<u64>().map_err(|_| format!("{flag} needs a number"));
        match flag.as_str() {
            "--connections" => o.connections = usize::try_from(number()?).map_err(|e| e.to_string())?,
            "--rate" => o.rate = number()?,
            "--seconds" => o.seconds = number()?,
            "--orders" => o.orders = number()?.max(1),
            "--sandbox" => o.sandbox = text.trim_end_matches('/').to_owned(),
            "--secret" => o.secret = text,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if o.scenario == "webhooks" && (o.sandbox.is_empty() || o.secret.is_empty()) {
        return Err("webhooks needs --sandbox and --secret".into());
    }
    Ok(o)
}

/// What each request of a run sends.
enum Scenario {
    Orders { url: String },
    Webhooks { url: String, secret: Secret, waiting: Vec<Waiting> },
}

/// An order waiting on 3-D Secure: its id and secret, and the gateway's payment id.
struct Waiting {
    order: String,
    client_secret: String,
    payment: String,
}

impl Scenario {
    /// Request `n` of the run `run_id`; true when it got the expected answer.
    async fn send(&self, http: &reqwest::Client, run_id: u128, n: u64) -> bool {
        match self {
            Scenario::Orders { url } => order(http, url, format!("bench-{run_id}-{n}")).await.is_some(),
            Scenario::Webhooks { url, secret, waiting } => {
                // Every fifth repeats the event before it, as a gateway's retry would.
                let event = if n % 5 == 4 { n - 1 } else { n };
                // Fresh events take the orders in turn.
                let fresh = event - event / 5;
                let target = &waiting[usize::try_from(fresh).unwrap_or(0) % waiting.len()];
                webhook(http, url, secret, &format!("evt_bench_{run_id}_{event}"), target).await
            }
        }
    }
}

async fn webhook(http: &reqwest::Client, url: &str, secret: &Secret, id: &str, target: &Waiting) -> bool {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let now = i64::try_from(now).unwrap_or_default();
    let intent = json!({ "id": target.payment, "object": "payment_intent", "status": "succeeded",
                         "metadata": { "paylet_reference": target.order } });
    let body = json!({ "id": id, "object": "event", "type": "payment_intent.succeeded", "created": now,
                       "data": { "object": intent } })
    .to_string();
    let Ok(signature) = paylet_webhook::stripe::header(&[secret], now, body.as_bytes()) else { return false };
    match http.post(url).header("stripe-signature", signature).body(body).send().await {
        Ok(r) => r.status() == reqwest::StatusCode::OK,
        Err(_) => false,
    }
}

/// Makes `o.orders` orders wait on 3-D Secure, 64 at a time.
async fn prepare_waiting(o: &Options, http: &reqwest::Client) -> Result<Vec<Waiting>, String> {
    let url = format!("{}/v1/stores/{}/orders", o.base, o.store);
    let slots = Arc::new(Semaphore::new(64));
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..o.orders {
        let (http, url, base, sandbox, slots) =
            (http.clone(), url.clone(), o.base.clone(), o.sandbox.clone(), slots.clone());
        tasks.spawn(async move {
            let _slot = slots.acquire().await;
            let order = order(&http, &url, format!("bench-prepare-{n}-{}", std::process::id())).await?;
            let form = [
                ("key", "pk_test_paylet_demo"),
                ("card[number]", "4000002500003155"),
                ("card[exp_month]", "12"),
                ("card[exp_year]", "2034"),
                ("card[cvc]", "123"),
            ];
            let token: Value =
                http.post(format!("{sandbox}/v1/tokens")).form(&form).send().await.ok()?.json().await.ok()?;
            let (id, client_secret) = (order["id"].as_str()?.to_owned(), order["client_secret"].as_str()?.to_owned());
            let pay = json!({ "client_secret": client_secret, "token": token["id"] });
            let paid: Value =
                http.post(format!("{base}/v1/orders/{id}/payments")).json(&pay).send().await.ok()?.json().await.ok()?;
            // The challenge page is /hosted/3ds/{payment id}.
            let challenge = paid["next_action"]["redirect_url"].as_str()?;
            let payment = challenge.split('?').next()?.rsplit('/').next()?.to_owned();
            Some(Waiting { order: id, client_secret, payment })
        });
    }
    let mut waiting = Vec::new();
    while let Some(done) = tasks.join_next().await {
        waiting.push(done.ok().flatten().ok_or("could not prepare an order waiting on 3-D Secure")?);
    }
    Ok(waiting)
}

/// How many of the orders are paid now.
async fn count_paid(o: &Options, http: &reqwest::Client, waiting: &[Waiting]) -> usize {
    let mut paid = 0;
    for w in waiting {
        let url = format!("{}/v1/orders/{}?client_secret={}", o.base, w.order, w.client_secret);
        let status = match http.get(url).send().await {
            Ok(r) => r.json::<Value>().await.ok().and_then(|v| v["status"].as_str().map(str::to_owned)),
            Err(_) => None,
        };
        paid += usize::from(status.as_deref() == Some("paid"));
    }
    paid
}

/// Creates an order; its JSON when the server made it.
async fn order(http: &reqwest::Client, url: &str, key: String) -> Option<Value> {
    let body = serde_json::json!({
        "items": [{ "sku": "TEE", "quantity": 2 }],
        "customer": {
            "email": "bench@example.com", "name": "Bench",
            "billing_address": { "line1": "1 Main St", "city": "San Francisco", "postal_code": "94103", "country": "US" }
        }
    });
    let response = http.post(url).header("Idempotency-Key", key).json(&body).send().await.ok()?;
    if response.status() != reqwest::StatusCode::CREATED {
        return None;
    }
    response.json().await.ok()
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
    let http = reqwest::Client::builder().pool_max_idle_per_host(options.connections).build().unwrap_or_default();
    let scenario = match options.scenario.as_str() {
        "orders" => Scenario::Orders { url: format!("{}/v1/stores/{}/orders", options.base, options.store) },
        "webhooks" => {
            let started = Instant::now();
            let waiting = match prepare_waiting(&options, &http).await {
                Ok(w) => w,
                Err(e) => {
                    eprintln!("paylet-bench: {e}");
                    return std::process::ExitCode::FAILURE;
                }
            };
            eprintln!(
                "prepared {} orders waiting on 3-D Secure in {:.1} s",
                waiting.len(),
                started.elapsed().as_secs_f64()
            );
            let url = format!("{}/v1/webhooks/{}/stripe", options.base, options.store);
            Scenario::Webhooks { url, secret: Secret::new(options.secret.clone()), waiting }
        }
        other => {
            eprintln!("paylet-bench: unknown scenario `{other}`\n{USAGE}");
            return std::process::ExitCode::from(2);
        }
    };
    let scenario = Arc::new(scenario);
    let run_id = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let results = if options.rate == 0 {
        closed(&options, &http, &scenario, run_id).await
    } else {
        open(&options, &http, &scenario, run_id).await
    };
    let mut code = report(&options, results);
    if let Scenario::Webhooks { waiting, .. } = &*scenario {
        let paid = count_paid(&options, &http, waiting).await;
        println!("  afterwards {paid} of {} orders paid (each by its first event)", waiting.len());
        if paid != waiting.len() {
            code = std::process::ExitCode::FAILURE;
        }
    }
    code
}

async fn closed(o: &Options, http: &reqwest::Client, scenario: &Arc<Scenario>, run_id: u128) -> Results {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(o.seconds);
    let counter = Arc::new(AtomicU64::new(0));
    let mut clients = tokio::task::JoinSet::new();
    for _ in 0..o.connections {
        let (http, scenario, counter) = (http.clone(), scenario.clone(), counter.clone());
        clients.spawn(async move {
            let (mut latencies, mut errors) = (Vec::new(), 0u64);
            while Instant::now() < deadline {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let sent = Instant::now();
                if scenario.send(&http, run_id, n).await {
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

async fn open(o: &Options, http: &reqwest::Client, scenario: &Arc<Scenario>, run_id: u128) -> Results {
    let started = Instant::now();
    let slots = Arc::new(Semaphore::new(o.connections));
    let interval = Duration::from_nanos(1_000_000_000 / o.rate.max(1));
    let total = o.rate * o.seconds;
    let mut requests = tokio::task::JoinSet::new();
    for n in 0..total {
        let due = started + interval * u32::try_from(n).unwrap_or(u32::MAX);
        tokio::time::sleep_until(due.into()).await;
        let (http, scenario, slots) = (http.clone(), scenario.clone(), slots.clone());
        requests.spawn(async move {
            let _slot = slots.acquire().await;
            let ok = scenario.send(&http, run_id, n).await;
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
