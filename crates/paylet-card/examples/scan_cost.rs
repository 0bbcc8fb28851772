//! What the card-number scanner costs per request body, for BENCHMARKS.md
//! ("Card-number guard: cost"). Run in release:
//!   cargo run --release -p paylet-card --example scan_cost
//! Prints, for each kind of body, its size, nanoseconds per scan and MB/s.

use std::hint::black_box;
use std::time::{Duration, Instant};

use paylet_card::find_card_numbers;

/// A shopper's order, as the widget sends it.
const ORDER: &str = r#"{"items":[{"sku":"TEE-CLASSIC","quantity":2},{"sku":"MUG-ENAMEL","quantity":1}],"customer":{"email":"ada.lovelace@example.com","name":"Ada Lovelace","phone":"+44 20 7946 0958","billing_address":{"line1":"12 Analytical Row","line2":"Flat 3","city":"London","postal_code":"NW1 6XE","country":"GB"},"shipping_address":{"line1":"12 Analytical Row","city":"London","postal_code":"NW1 6XE","country":"GB"}}}"#;

/// A Stripe `payment_intent.succeeded` event, as the gateway posts it.
const WEBHOOK: &str = r#"{"id":"evt_3OqX2bLkdIwHu7ix1Zq3Yb9c","object":"event","api_version":"2024-06-20","created":1717171717,"data":{"object":{"id":"pi_3OqX2bLkdIwHu7ix1a2b3c4d","object":"payment_intent","amount":6800,"amount_capturable":0,"amount_received":6800,"capture_method":"automatic","client_secret":"pi_3OqX2bLkdIwHu7ix1a2b3c4d_secret_Zx9Yw8Vu7Ts6","confirmation_method":"automatic","created":1717171700,"currency":"usd","customer":null,"description":null,"latest_charge":"ch_3OqX2bLkdIwHu7ix1e5f6g7h","livemode":false,"metadata":{"paylet_order":"ord_0Vd5q09DODq9O85SK6B8","paylet_attempt":"pay_0Vd5q0AbCdEf12345678"},"payment_method":"pm_1OqX2aLkdIwHu7ixAbCdEfGh","payment_method_types":["card"],"status":"succeeded"}},"livemode":false,"pending_webhooks":1,"request":{"id":"req_a1B2c3D4e5F6g7","idempotency_key":"pay_0Vd5q0AbCdEf12345678"},"type":"payment_intent.succeeded"}"#;

fn log_lines() -> String {
    (0..120)
        .map(|i| {
            format!(
                "2026-12-07T06:0{}:{:02}.123Z INFO request{{id=7f3a{i:04x} method=POST route=/v1/orders/{{order}}/payments}}: \
                 payment attempt moved order=ord_0Vd5q09DODq9O8{i:04} from=processing to=succeeded amount=6800 USD\n",
                i % 10,
                i % 60
            )
        })
        .collect()
}

fn main() {
    let logs = log_lines();
    for (kind, text) in [("order request", ORDER), ("webhook event", WEBHOOK), ("120 log lines", logs.as_str())] {
        assert!(find_card_numbers(text).is_empty(), "{kind} carries no card number");
        // Long enough that the clock's resolution does not matter.
        let (mut runs, started) = (0u64, Instant::now());
        while started.elapsed() < Duration::from_secs(2) {
            for _ in 0..100 {
                black_box(find_card_numbers(black_box(text)));
            }
            runs += 100;
        }
        let per_scan = started.elapsed().as_nanos() as f64 / runs as f64;
        let mb_per_s = text.len() as f64 / per_scan * 1e3;
        println!("{kind:<16} {:>6} B {per_scan:>10.0} ns/scan {mb_per_s:>8.1} MB/s", text.len());
    }
}
