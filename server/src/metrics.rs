//! Prometheus metrics: requests by route and status, latency by route, orders
//! created, payment outcomes and gateway webhooks. Served at `/metrics` on
//! their own listener (`paylet serve --metrics-listen`, loopback by default),
//! never on the public one.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use prometheus::{Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts, Registry, TextEncoder};

pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    pub orders_created: IntCounter,
    pub payments: IntCounterVec,
    pub webhooks: IntCounterVec,
}

impl Metrics {
    pub fn new() -> Result<Metrics, prometheus::Error> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests by method, route and status."),
            &["method", "route", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new("http_request_duration_seconds", "Time to answer, by route.")
                .buckets(vec![0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0]),
            &["route"],
        )?;
        let orders_created = IntCounter::new("paylet_orders_created_total", "Orders created.")?;
        let payments = IntCounterVec::new(
            Opts::new("paylet_payment_attempts_total", "Payment attempts by resulting order status."),
            &["status"],
        )?;
        let webhooks = IntCounterVec::new(
            Opts::new("paylet_gateway_webhooks_total", "Verified gateway webhooks, new or duplicate."),
            &["kind"],
        )?;
        registry.register(Box::new(webhooks.clone()))?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(orders_created.clone()))?;
        registry.register(Box::new(payments.clone()))?;
        Ok(Metrics { registry, requests, latency, orders_created, payments, webhooks })
    }

    pub fn render(&self) -> String {
        let mut out = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

/// Counts and times each request under its route template (never the raw
/// path, which would hold ids and make a series per order) and its method.
/// Every label comes from a closed set, whatever a client sends: each new
/// value would be a new series kept for the life of the process.
pub async fn track(State(m): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str).to_owned();
    let method = method_label(request.method());
    let started = Instant::now();
    let response = next.run(request).await;
    m.latency.with_label_values(&[&route]).observe(started.elapsed().as_secs_f64());
    m.requests.with_label_values(&[method, &route, response.status().as_str()]).inc();
    response
}

/// The standard methods by name; any other (HTTP allows made-up ones) is `other`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}
