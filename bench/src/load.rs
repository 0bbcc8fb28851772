//! `load`: a mixed checkout + webhook workload, then an audit.
//!
//! `--connections` shoppers each do whole checkouts, one after another, for
//! `--seconds`, with the widget's requests (`shopper.rs`): the checkout config,
//! the order, the card tokenized at the gateway (the sandbox, straight from
//! the "browser"), the payment. Shopper `n` does, by `n % 20`:
//! - 0–15: pays with a good card (Visa, Mastercard, Amex, Discover in turn);
//! - 16, 17: is declined (`card_declined`), then pays the same order with a
//!   good card;
//! - 18: is declined for insufficient funds and gives up (the order stays pending);
//! - 19: meets 3-D Secure, completes the challenge at the sandbox, and confirms.
//!
//! Orders are for 1–3 TEEs ($25 each) in turn, so amounts differ. Each request
//! to the servers goes to the next URL in turn, as a load balancer without
//! sticky sessions would send it: an order made on one instance is often
//! paid on another. Meanwhile the sandbox sends its signed webhooks about every
//! payment to the URL registered for the store.
//!
//! Afterwards, once the sandbox has no webhook left to deliver, the audit
//! compares every payment the gateway took with every order in the database:
//! each succeeded gateway payment is the one succeeded payment of exactly one
//! paid order, for the same amount; each paid order has exactly one; and the
//! database has as many paid orders as the shoppers saw paid.

use std::collections::{BTreeMap, HashMap};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;
use tokio::sync::Semaphore;

use crate::shopper::{self, Order, answer};
use crate::{Options, Recorder, Summary, Work, per_second};

/// Test cards (crates/paylet-sandbox/README.md).
const GOOD_CARDS: [&str; 4] = ["4242424242424242", "5555555555554444", "378282246310005", "6011111111111117"];
const DECLINED: &str = "4000000000000002";
const INSUFFICIENT_FUNDS: &str = "4000000000009995";
const THREE_D_SECURE: &str = "4000002500003155";

/// Request kinds, in checkout order; `token` and `challenge` go to the sandbox.
const KINDS: [&str; 6] = ["config", "order", "token", "pay", "challenge", "confirm"];
const TO_SERVERS: [&str; 4] = ["config", "order", "pay", "confirm"];

/// How long the sandbox may take to deliver its last webhooks after the load.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(60);

/// What shopper `n` does.
enum Plan {
    Pays(&'static str),
    DeclinedThenPays,
    GivesUp,
    ThreeDSecure,
}

impl Plan {
    fn of(n: u64) -> Plan {
        match n % 20 {
            16 | 17 => Plan::DeclinedThenPays,
            18 => Plan::GivesUp,
            19 => Plan::ThreeDSecure,
            _ => Plan::Pays(GOOD_CARDS[usize::try_from(n % 4).unwrap_or(0)]),
        }
    }
}

/// The answer a payment request must get.
#[derive(Debug, Clone, Copy)]
enum Expected {
    Paid,
    /// 200 with the order still pending and the decline's reason.
    Declined,
    /// 3-D Secure: the challenge page's URL.
    Challenge,
}

impl Expected {
    fn check(self, result: Value) -> Result<Value, String> {
        let ok = match self {
            Expected::Paid => result["status"] == "paid",
            Expected::Declined => result["status"] == "pending" && result["decline"]["code"].is_string(),
            Expected::Challenge => {
                result["status"] == "requires_action" && result["next_action"]["redirect_url"].is_string()
            }
        };
        if ok { Ok(result) } else { Err(format!("expected {self:?}, got {result}")) }
    }
}

/// The gateway as the checkout config names it: where the browser tokenizes.
struct Gateway {
    api_base: String,
    public_key: String,
}

impl Gateway {
    fn of(config: &Value) -> Result<Gateway, String> {
        let g = &config["gateway"];
        match (g["api_base"].as_str(), g["public_key"].as_str()) {
            (Some(api_base), Some(key)) => Ok(Gateway { api_base: api_base.to_owned(), public_key: key.to_owned() }),
            _ => Err(format!("no gateway in the checkout config {config}")),
        }
    }
}

struct Checkouts {
    servers: Vec<String>,
    store: String,
    next: AtomicUsize,
    /// Checkouts that went as planned, ending paid or not.
    paid: AtomicU64,
    unpaid: AtomicU64,
}

impl Work for Checkouts {
    async fn run(&self, http: &reqwest::Client, run_id: u128, n: u64, r: &mut Recorder) {
        // A checkout that went wrong has its error recorded already.
        match self.checkout(http, run_id, n, r).await {
            Some(true) => self.paid.fetch_add(1, Ordering::Relaxed),
            Some(false) => self.unpaid.fetch_add(1, Ordering::Relaxed),
            None => 0,
        };
    }
}

impl Checkouts {
    /// Where the next request goes.
    fn server(&self) -> &str {
        &self.servers[self.next.fetch_add(1, Ordering::Relaxed) % self.servers.len()]
    }

    /// Shopper `n`'s checkout: whether it ended paid, or `None` after a failure.
    async fn checkout(&self, http: &reqwest::Client, run_id: u128, n: u64, r: &mut Recorder) -> Option<bool> {
        let config = async { Gateway::of(&shopper::checkout_config(http, self.server(), &self.store).await?) };
        let gateway = r.timed("config", config).await?;
        let key = format!("load-{run_id}-{n}");
        let created =
            async { Order::of(&shopper::create_order(http, self.server(), &self.store, key, 1 + n % 3).await?) };
        let order = r.timed("order", created).await?;
        match Plan::of(n) {
            Plan::Pays(card) => self.pay(http, r, &gateway, &order, card, Expected::Paid).await.map(|_| true),
            Plan::DeclinedThenPays => {
                self.pay(http, r, &gateway, &order, DECLINED, Expected::Declined).await?;
                self.pay(http, r, &gateway, &order, GOOD_CARDS[0], Expected::Paid).await.map(|_| true)
            }
            Plan::GivesUp => {
                self.pay(http, r, &gateway, &order, INSUFFICIENT_FUNDS, Expected::Declined).await.map(|_| false)
            }
            Plan::ThreeDSecure => {
                let result = self.pay(http, r, &gateway, &order, THREE_D_SECURE, Expected::Challenge).await?;
                let page = result["next_action"]["redirect_url"].as_str().unwrap_or_default();
                r.timed("challenge", shopper::complete_challenge(http, page)).await?;
                let confirmed = async { Expected::Paid.check(shopper::confirm(http, self.server(), &order).await?) };
                r.timed("confirm", confirmed).await.map(|_| true)
            }
        }
    }

    /// Tokenizes `card` at the gateway and pays `order` with the token; the
    /// payment result, when it is the `expected` one.
    async fn pay(
        &self,
        http: &reqwest::Client,
        r: &mut Recorder,
        gateway: &Gateway,
        order: &Order,
        card: &str,
        expected: Expected,
    ) -> Option<Value> {
        let token = r.timed("token", shopper::tokenize(http, &gateway.api_base, &gateway.public_key, card)).await?;
        r.timed("pay", async { expected.check(shopper::pay(http, self.server(), order, &token).await?) }).await
    }
}

pub async fn run(o: &Options, http: &reqwest::Client, run_id: u128) -> ExitCode {
    let servers: Vec<String> = o.base.split(',').map(|s| s.trim_end_matches('/').to_owned()).collect();
    let work = Arc::new(Checkouts {
        servers: servers.clone(),
        store: o.store.clone(),
        next: AtomicUsize::new(0),
        paid: AtomicU64::new(0),
        unpaid: AtomicU64::new(0),
    });
    let results = crate::closed(o, http, work.clone(), run_id).await;
    let (paid, unpaid) = (work.paid.load(Ordering::Relaxed), work.unpaid.load(Ordering::Relaxed));
    let mut latencies = results.latencies();
    let to_servers: usize = TO_SERVERS.iter().map(|k| latencies.get(k).map_or(0, Vec::len)).sum();
    println!(
        "load, closed loop, {} shoppers, {} s, {} server(s): {:.1} checkouts/s ({paid} paid, {unpaid} declined and \
         given up), {:.1} requests/s to the servers, {} errors",
        o.connections,
        o.seconds,
        servers.len(),
        per_second(paid + unpaid, results.elapsed),
        per_second(u64::try_from(to_servers).unwrap_or(u64::MAX), results.elapsed),
        results.error_count()
    );
    println!("  {:<10} {:>9} {:>9} {:>9} {:>9} {:>7}", "request", "ok", "p50 ms", "p99 ms", "max ms", "errors");
    for kind in KINDS {
        let s = Summary::of(latencies.remove(kind).unwrap_or_default());
        let errors = results.errors.get(kind).copied().unwrap_or(0);
        let at = if TO_SERVERS.contains(&kind) { "" } else { " (at the sandbox)" };
        println!("  {kind:<10} {:>9} {:>9.2} {:>9.2} {:>9.2} {errors:>7}{at}", s.count, s.p50, s.p99, s.max);
    }

    // Afterwards, in turn: the webhooks settle, every one was taken, and the
    // audit. Each says what it found; any failure fails the run.
    let mut failed = results.error_count() > 0;
    let mut check = |found: Result<String, String>| match found {
        Ok(line) => println!("{line}"),
        Err(line) => {
            println!("{line}");
            failed = true;
        }
    };
    check(settle(o, http).await);
    let metrics: Vec<String> = o.metrics.split(',').map(|s| s.trim_end_matches('/').to_owned()).collect();
    check(webhooks_received(http, &metrics, results.elapsed).await);
    check(audit(o, http, &servers[0], paid).await);
    if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}

/// Waits until the sandbox has no webhook waiting or being sent (each one
/// delivered means the server committed it); how long that took. Fails if
/// a delivery failed, as far as the sandbox's log (its last 10,000 attempts)
/// tells.
async fn settle(o: &Options, http: &reqwest::Client) -> Result<String, String> {
    let started = Instant::now();
    let url = format!("{}/_sandbox/deliveries?account={}", o.sandbox, o.account);
    loop {
        let log = answer(http.get(&url), StatusCode::OK).await.map_err(|e| format!("webhooks: {e}"))?;
        let failed = log["attempts"].as_array().map_or(0, |a| a.iter().filter(|a| a["outcome"] != "delivered").count());
        if failed > 0 {
            return Err(format!("webhooks: {failed} deliveries FAILED; see {url}"));
        }
        if log["pending"] == 0 {
            return Ok(format!(
                "webhooks: all delivered {:.1} s after the load stopped",
                started.elapsed().as_secs_f64()
            ));
        }
        if started.elapsed() > SETTLE_TIMEOUT {
            return Err(format!("webhooks: {} deliveries still pending after {SETTLE_TIMEOUT:?}", log["pending"]));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// How many webhooks the servers answered, from their `/metrics` (at each
/// one's metrics address); fails if any answer was not 2xx.
async fn webhooks_received(http: &reqwest::Client, metrics: &[String], elapsed: Duration) -> Result<String, String> {
    let (mut each, mut refused) = (Vec::new(), 0);
    for server in metrics {
        let metrics = answer_text(http, &format!("{server}/metrics")).await.map_err(|e| format!("webhooks: {e}"))?;
        let mut received = 0;
        // http_requests_total{method="POST",route="/v1/webhooks/{store}/{gateway}",status="200"} 1234
        for line in metrics.lines().filter(|l| l.starts_with("http_requests_total{")) {
            let Some((labels, count)) = line.rsplit_once(' ') else { continue };
            if labels.contains("route=\"/v1/webhooks/{store}/{gateway}\"") {
                let count: u64 = count.parse().unwrap_or(0);
                received += count;
                if !labels.contains("status=\"2") {
                    refused += count;
                }
            }
        }
        each.push(received);
    }
    let received: u64 = each.iter().sum();
    let each: Vec<String> = each.iter().map(u64::to_string).collect();
    let line = format!(
        "webhooks: {received} received ({:.1}/s over the run; by server {}), {refused} answered other than 2xx",
        per_second(received, elapsed),
        each.join(" / ")
    );
    if refused == 0 { Ok(line) } else { Err(line) }
}

/// The text of a 200 answer to `GET url`.
async fn answer_text(http: &reqwest::Client, url: &str) -> Result<String, String> {
    let response = http.get(url).send().await.map_err(|e| format!("{url}: {e}"))?;
    match response.status() {
        StatusCode::OK => response.text().await.map_err(|e| format!("{url}: {e}")),
        other => Err(format!("{url}: {other}")),
    }
}

/// An order as the admin API lists it.
struct Listed {
    id: String,
    status: String,
    total: (i64, String),
}

/// Compares the gateway's succeeded payments with the database's orders:
/// the counts, and any mismatch.
async fn audit(o: &Options, http: &reqwest::Client, server: &str, shoppers_paid: u64) -> Result<String, String> {
    let read = audit_mismatches(o, http, server, shoppers_paid).await;
    let (counts, mismatches) = read.map_err(|e| format!("audit: could not run: {e}"))?;
    if mismatches.is_empty() {
        return Ok(format!("{counts}\naudit: no mismatch"));
    }
    let first: Vec<String> = mismatches.iter().take(20).map(|m| format!("  {m}")).collect();
    Err(format!("{counts}\naudit: {} MISMATCHES, the first:\n{}", mismatches.len(), first.join("\n")))
}

/// The audit's counts, and its mismatches.
async fn audit_mismatches(
    o: &Options,
    http: &reqwest::Client,
    server: &str,
    shoppers_paid: u64,
) -> Result<(String, Vec<String>), String> {
    let url = format!("{}/_sandbox/accounts/{}/payments", o.sandbox, o.account);
    let charged = answer(http.get(url), StatusCode::OK).await?;
    let charged: HashMap<String, (i64, String)> = (charged["data"].as_array().into_iter().flatten())
        .filter_map(|p| Some((p["id"].as_str()?.to_owned(), money(p)?)))
        .collect();
    let orders = list_orders(o, http, server).await?;
    let paid: Vec<&Listed> = orders.iter().filter(|o| o.status == "paid").collect();
    let succeeded = succeeded_payments(o, http, server, &paid).await?;

    let mut mismatches = Vec::new();
    // How many paid orders each gateway payment paid.
    let mut claims: HashMap<&str, u64> = HashMap::new();
    let mut matched = 0u64;
    for (order, payments) in paid.iter().zip(&succeeded) {
        let [(payment, amount)] = payments.as_slice() else {
            mismatches.push(format!("order {} is paid with {} succeeded payments", order.id, payments.len()));
            continue;
        };
        *claims.entry(payment.as_str()).or_default() += 1;
        match charged.get(payment) {
            None => mismatches
                .push(format!("order {} is paid by {payment}, which the gateway shows no money for", order.id)),
            Some(at_gateway) if at_gateway != &order.total || amount != &order.total => mismatches.push(format!(
                "order {} totals {:?}, its payment {payment} is {amount:?}, the gateway took {at_gateway:?}",
                order.id, order.total
            )),
            Some(_) => matched += 1,
        }
    }
    for (payment, total) in &charged {
        match claims.get(payment.as_str()).copied().unwrap_or(0) {
            1 => {}
            0 => mismatches.push(format!("the gateway took {total:?} in {payment} for no paid order")),
            n => mismatches.push(format!("gateway payment {payment} is the payment of {n} paid orders")),
        }
    }
    if u64::try_from(paid.len()).ok() != Some(shoppers_paid) {
        mismatches.push(format!("shoppers saw {shoppers_paid} orders paid, the database has {}", paid.len()));
    }
    let mut by_status: BTreeMap<&str, u64> = BTreeMap::new();
    for order in &orders {
        *by_status.entry(&order.status).or_default() += 1;
    }
    let statuses: Vec<String> = by_status.iter().map(|(s, n)| format!("{n} {s}")).collect();
    let counts = format!(
        "audit: the gateway took {} payments; the database has {} orders ({}); {matched} paid orders match one \
         gateway payment each, for the same amount; shoppers saw {shoppers_paid} paid",
        charged.len(),
        orders.len(),
        statuses.join(", ")
    );
    Ok((counts, mismatches))
}

/// `{"amount": …, "currency": …}` as a comparable pair.
fn money(v: &Value) -> Option<(i64, String)> {
    Some((v["amount"].as_i64()?, v["currency"].as_str()?.to_owned()))
}

fn admin(http: &reqwest::Client, o: &Options, url: String) -> reqwest::RequestBuilder {
    http.get(url).bearer_auth(&o.admin_key)
}

/// Every order of the store, through the admin API, a page at a time.
async fn list_orders(o: &Options, http: &reqwest::Client, server: &str) -> Result<Vec<Listed>, String> {
    let mut orders = Vec::new();
    let mut cursor = String::new();
    loop {
        let page =
            answer(admin(http, o, format!("{server}/v1/admin/orders?limit=100{cursor}")), StatusCode::OK).await?;
        for order in page["data"].as_array().into_iter().flatten() {
            let (Some(id), Some(status), Some(total)) =
                (order["id"].as_str(), order["status"].as_str(), money(&order["total"]))
            else {
                return Err(format!("unexpected order in the list: {order}"));
            };
            orders.push(Listed { id: id.to_owned(), status: status.to_owned(), total });
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => return Ok(orders),
        }
    }
}

/// For each order, its succeeded payments (the gateway's id and the amount),
/// as the server recorded them; 16 orders read at a time.
async fn succeeded_payments(
    o: &Options,
    http: &reqwest::Client,
    server: &str,
    orders: &[&Listed],
) -> Result<Vec<Vec<(String, (i64, String))>>, String> {
    let slots = Arc::new(Semaphore::new(16));
    let mut tasks = tokio::task::JoinSet::new();
    for (i, order) in orders.iter().enumerate() {
        let request = admin(http, o, format!("{server}/v1/admin/orders/{}", order.id));
        let slots = slots.clone();
        tasks.spawn(async move {
            let _slot = slots.acquire().await;
            let detail = answer(request, StatusCode::OK).await?;
            let payments = (detail["payments"].as_array().into_iter().flatten())
                .filter(|p| p["status"] == "succeeded")
                .map(|p| {
                    (
                        p["gateway_payment_id"].as_str().unwrap_or("(none)").to_owned(),
                        money(&p["amount"]).unwrap_or_default(),
                    )
                })
                .collect::<Vec<_>>();
            Ok::<_, String>((i, payments))
        });
    }
    let mut all = vec![Vec::new(); orders.len()];
    while let Some(done) = tasks.join_next().await {
        let (i, payments) = done.map_err(|e| e.to_string())??;
        all[i] = payments;
    }
    Ok(all)
}
