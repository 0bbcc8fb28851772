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
//! - `load URL[,URL…] STORE --sandbox SANDBOX_URL --admin-key KEY`: shoppers
//!   doing whole checkouts while the sandbox sends its signed webhooks about
//!   their payments, then an audit of the gateway's payments against the
//!   orders (see `load.rs`). Closed loop only: `--connections` shoppers.

mod load;
mod shopper;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use paylet_secret::Secret;
use serde_json::json;
use tokio::sync::Semaphore;

use crate::shopper::Order;

const USAGE: &str = "usage: paylet-bench orders|webhooks|load URL STORE [--connections N] [--rate R] [--seconds S] \
                     [--sandbox URL --secret WHSEC --orders N] [--sandbox URL --admin-key KEY --metrics URLS [--account ACCT]] \
                     [--timeline]";

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
    /// `load`: the store's admin API key, to read every order back.
    admin_key: String,
    /// `load`: the sandbox account the store charges through.
    account: String,
    /// `load`: each server's metrics address (`paylet serve --metrics-listen`), comma separated.
    metrics: String,
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
        admin_key: String::new(),
        account: "acct_demo".into(),
        metrics: String::new(),
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
            "--admin-key" => o.admin_key = text,
            "--account" => o.account = text,
            "--metrics" => o.metrics = text,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if o.scenario == "webhooks" && (o.sandbox.is_empty() || o.secret.is_empty()) {
        return Err("webhooks needs --sandbox and --secret".into());
    }
    if o.scenario == "load" && (o.sandbox.is_empty() || o.admin_key.is_empty() || o.metrics.is_empty() || o.rate != 0) {
        return Err("load needs --sandbox, --admin-key and --metrics, and runs closed loop only".into());
    }
    Ok(o)
}

/// What each request of an `orders` or `webhooks` run sends.
enum Scenario {
    Orders { base: String, store: String },
    Webhooks { url: String, secret: Secret, waiting: Vec<Waiting> },
}

/// An order waiting on 3-D Secure, and the gateway's payment id.
struct Waiting {
    order: Order,
    payment: String,
}

impl Scenario {
    fn kind(&self) -> &'static str {
        match self {
            Scenario::Orders { .. } => "orders",
            Scenario::Webhooks { .. } => "webhooks",
        }
    }

    /// Request `n` of the run `run_id`; an error unless it got the expected answer.
    async fn send(&self, http: &reqwest::Client, run_id: u128, n: u64) -> Result<(), String> {
        match self {
            Scenario::Orders { base, store } => {
                shopper::create_order(http, base, store, format!("bench-{run_id}-{n}"), 2).await.map(drop)
            }
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

/// A unit of work a client repeats until the run ends: one request, or a
/// shopper's whole checkout.
trait Work: Send + Sync + 'static {
    /// The `n`th unit of the run `run_id`; every request it makes goes into `r`.
    fn run(
        &self,
        http: &reqwest::Client,
        run_id: u128,
        n: u64,
        r: &mut Recorder,
    ) -> impl std::future::Future<Output = ()> + Send;
}

impl Work for Scenario {
    async fn run(&self, http: &reqwest::Client, run_id: u128, n: u64, r: &mut Recorder) {
        r.timed(self.kind(), self.send(http, run_id, n)).await;
    }
}

async fn webhook(http: &reqwest::Client, url: &str, secret: &Secret, id: &str, target: &Waiting) -> Result<(), String> {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let now = i64::try_from(now).unwrap_or_default();
    let intent = json!({ "id": target.payment, "object": "payment_intent", "status": "succeeded",
                         "metadata": { "paylet_reference": target.order.id } });
    let body = json!({ "id": id, "object": "event", "type": "payment_intent.succeeded", "created": now,
                       "data": { "object": intent } })
    .to_string();
    let signature = paylet_webhook::stripe::header(&[secret], now, body.as_bytes()).map_err(|e| e.to_string())?;
    let request = http.post(url).header("stripe-signature", signature).body(body);
    shopper::answer(request, reqwest::StatusCode::OK).await.map(drop)
}

/// Makes `o.orders` orders wait on 3-D Secure, 64 at a time.
async fn prepare_waiting(o: &Options, http: &reqwest::Client) -> Result<Vec<Waiting>, String> {
    let slots = Arc::new(Semaphore::new(64));
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..o.orders {
        let (http, base, store, sandbox, slots) =
            (http.clone(), o.base.clone(), o.store.clone(), o.sandbox.clone(), slots.clone());
        tasks.spawn(async move {
            let _slot = slots.acquire().await;
            let key = format!("bench-prepare-{n}-{}", std::process::id());
            let order = Order::of(&shopper::create_order(&http, &base, &store, key, 2).await?)?;
            let token = shopper::tokenize(&http, &sandbox, "pk_test_paylet_demo", "4000002500003155").await?;
            let paid = shopper::pay(&http, &base, &order, &token).await?;
            // The challenge page is /hosted/3ds/{payment id}.
            let payment = paid["next_action"]["redirect_url"]
                .as_str()
                .and_then(|url| url.split('?').next()?.rsplit('/').next())
                .ok_or_else(|| format!("no 3-D Secure challenge in {paid}"))?
                .to_owned();
            Ok::<_, String>(Waiting { order, payment })
        });
    }
    let mut waiting = Vec::new();
    while let Some(done) = tasks.join_next().await {
        let prepared = done.map_err(|e| e.to_string()).and_then(|w| w);
        waiting.push(prepared.map_err(|e| format!("could not prepare an order waiting on 3-D Secure: {e}"))?);
    }
    Ok(waiting)
}

/// How many of the orders are paid now.
async fn count_paid(o: &Options, http: &reqwest::Client, waiting: &[Waiting]) -> usize {
    let mut paid = 0;
    for w in waiting {
        let url = format!("{}/v1/orders/{}?client_secret={}", o.base, w.order.id, w.order.client_secret);
        let order = shopper::answer(http.get(url), reqwest::StatusCode::OK).await;
        paid += usize::from(order.is_ok_and(|o| o["status"] == "paid"));
    }
    paid
}

/// What one client saw: each answered request's kind, the second of the run
/// it was sent in and its latency, and the requests that failed, by kind.
struct Recorder {
    started: Instant,
    samples: Vec<Sample>,
    errors: BTreeMap<&'static str, u64>,
}

struct Sample {
    kind: &'static str,
    second: u64,
    latency_us: u64,
}

/// How many failures are described on stderr; the rest are only counted.
const ERRORS_SHOWN: u64 = 20;
static ERRORS_SEEN: AtomicU64 = AtomicU64::new(0);

impl Recorder {
    fn new(started: Instant) -> Recorder {
        Recorder { started, samples: Vec::new(), errors: BTreeMap::new() }
    }

    /// A request of `kind` counted from `since` (when it was sent, or due),
    /// answered now: its latency, or an error.
    fn record(&mut self, kind: &'static str, since: Instant, outcome: Result<(), &str>) {
        match outcome {
            Ok(()) => self.samples.push(Sample {
                kind,
                second: since.duration_since(self.started).as_secs(),
                latency_us: u64::try_from(since.elapsed().as_micros()).unwrap_or(u64::MAX),
            }),
            Err(why) => {
                *self.errors.entry(kind).or_default() += 1;
                if ERRORS_SEEN.fetch_add(1, Ordering::Relaxed) < ERRORS_SHOWN {
                    eprintln!("paylet-bench: {kind} failed: {why}");
                }
            }
        }
    }

    /// Sends `request` as one of `kind` and times it; its answer, if it was the expected one.
    async fn timed<T>(
        &mut self,
        kind: &'static str,
        request: impl std::future::Future<Output = Result<T, String>>,
    ) -> Option<T> {
        let sent = Instant::now();
        let answer = request.await;
        self.record(kind, sent, answer.as_ref().map(drop).map_err(String::as_str));
        answer.ok()
    }
}

struct Results {
    samples: Vec<Sample>,
    errors: BTreeMap<&'static str, u64>,
    elapsed: Duration,
}

impl Results {
    fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    /// Latencies in microseconds, by kind of request.
    fn latencies(&self) -> BTreeMap<&'static str, Vec<u64>> {
        let mut by_kind: BTreeMap<&'static str, Vec<u64>> = BTreeMap::new();
        for s in &self.samples {
            by_kind.entry(s.kind).or_default().push(s.latency_us);
        }
        by_kind
    }
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
    // A shopper's browser goes to the challenge page and back: the redirect
    // is the end of that step, not something to follow.
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(options.connections)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default();
    let run_id = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let scenario = match options.scenario.as_str() {
        "orders" => Scenario::Orders { base: options.base.clone(), store: options.store.clone() },
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
        "load" => return load::run(&options, &http, run_id).await,
        other => {
            eprintln!("paylet-bench: unknown scenario `{other}`\n{USAGE}");
            return std::process::ExitCode::from(2);
        }
    };
    let scenario = Arc::new(scenario);
    let results = if options.rate == 0 {
        closed(&options, &http, scenario.clone(), run_id).await
    } else {
        open(&options, &http, &scenario, run_id).await
    };
    let mut code = report(&options, &results);
    if let Scenario::Webhooks { waiting, .. } = &*scenario {
        let paid = count_paid(&options, &http, waiting).await;
        println!("  afterwards {paid} of {} orders paid (each by its first event)", waiting.len());
        if paid != waiting.len() {
            code = std::process::ExitCode::FAILURE;
        }
    }
    code
}

async fn closed<W: Work>(o: &Options, http: &reqwest::Client, work: Arc<W>, run_id: u128) -> Results {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(o.seconds);
    let counter = Arc::new(AtomicU64::new(0));
    let mut clients = tokio::task::JoinSet::new();
    for _ in 0..o.connections {
        let (http, work, counter) = (http.clone(), work.clone(), counter.clone());
        clients.spawn(async move {
            let mut recorder = Recorder::new(started);
            while Instant::now() < deadline {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                work.run(&http, run_id, n, &mut recorder).await;
            }
            recorder
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
            let outcome = scenario.send(&http, run_id, n).await;
            // From when it was due: time spent waiting for a free connection counts.
            let mut recorder = Recorder::new(started);
            recorder.record(scenario.kind(), due, outcome.as_ref().map_err(String::as_str).copied());
            recorder
        });
    }
    collect(requests, started).await
}

async fn collect(mut tasks: tokio::task::JoinSet<Recorder>, started: Instant) -> Results {
    let mut all = Results { samples: Vec::new(), errors: BTreeMap::new(), elapsed: Duration::ZERO };
    while let Some(done) = tasks.join_next().await {
        if let Ok(r) = done {
            all.samples.extend(r.samples);
            for (kind, n) in r.errors {
                *all.errors.entry(kind).or_default() += n;
            }
        }
    }
    all.elapsed = started.elapsed();
    all
}

/// Count, p50, p99 and max (ms) of some latencies in microseconds.
struct Summary {
    count: usize,
    p50: f64,
    p99: f64,
    max: f64,
}

impl Summary {
    fn of(mut latencies_us: Vec<u64>) -> Summary {
        latencies_us.sort_unstable();
        let pct = |p: f64| {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]
            let i = ((latencies_us.len() as f64 - 1.0) * p).round() as usize;
            latencies_us.get(i).map_or(0.0, |us| ms(*us))
        };
        Summary { count: latencies_us.len(), p50: pct(0.5), p99: pct(0.99), max: pct(1.0) }
    }
}

#[allow(clippy::cast_precision_loss)]
fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

#[allow(clippy::cast_precision_loss)]
fn per_second(count: u64, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64()
}

fn report(o: &Options, r: &Results) -> std::process::ExitCode {
    let all = Summary::of(r.samples.iter().map(|s| s.latency_us).collect());
    let ok_per_second = per_second(u64::try_from(all.count).unwrap_or(u64::MAX), r.elapsed);
    let mode = if o.rate == 0 { "closed loop".to_owned() } else { format!("open loop at {}/s", o.rate) };
    println!(
        "{} {mode}, {} connections, {}s: {ok_per_second:.0} ok/s, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, {} ok, {} errors",
        o.scenario,
        o.connections,
        o.seconds,
        all.p50,
        all.p99,
        all.max,
        all.count,
        r.error_count()
    );
    if o.timeline {
        let mut seconds: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
        for s in &r.samples {
            seconds.entry(s.second).or_default().push(s.latency_us);
        }
        for (s, l) in seconds {
            let l = Summary::of(l);
            println!("  second {s:>3}: {:>5} ok, p99 {:>7.2} ms, max {:>7.2} ms", l.count, l.p99, l.max);
        }
    }
    if r.error_count() > 0 { std::process::ExitCode::FAILURE } else { std::process::ExitCode::SUCCESS }
}
