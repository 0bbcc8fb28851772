//! Webhook delivery: every event is queued per destination and sent by one
//! background worker, signed at send time in the destination's style, retried
//! on the configured schedule until a 2xx, and logged attempt by attempt. Faults
//! injected on the account (delay, reorder, dropped attempts, duplicates) apply
//! here.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::accounts::Faults;
use crate::ids::{now_ms, rfc3339};
use crate::state::{Shared, World};

/// How long a reordered event waits for a newer one to overtake it.
const REORDER_HOLD_MS: i64 = 300;
/// How many delivery attempts the log keeps.
const LOG_CAPACITY: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "style", rename_all = "snake_case")]
pub(crate) enum Target {
    Stripe { endpoint_id: String },
    Square { subscription_id: String },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Delivery {
    seq: u64,
    account_id: String,
    target: Target,
    event_id: String,
    event_type: String,
    /// The exact bytes sent (and signed).
    payload: String,
    created_ms: i64,
    attempts: u32,
    /// 0 for the event itself, 1.. for injected duplicate copies.
    copy: u32,
    /// Duplicate copies still to send after this one succeeds.
    copies_left: u32,
    due_ms: i64,
}

/// One attempt to deliver an event, as `GET /_sandbox/deliveries` lists it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeliveryAttempt {
    pub account_id: String,
    pub event_id: String,
    pub event_type: String,
    pub url: String,
    /// 1 for the first attempt of a copy.
    pub attempt: u32,
    pub duplicate: bool,
    pub at_ms: i64,
    /// `delivered`, `failed`, `dropped` (by fault injection) or `abandoned`
    /// (retries exhausted, or the destination was removed).
    pub outcome: String,
    pub status: Option<u16>,
    pub error: Option<String>,
}

#[derive(Default, Serialize, Deserialize)]
pub(crate) struct Webhooks {
    next_seq: u64,
    queue: Vec<Delivery>,
    log: VecDeque<DeliveryAttempt>,
    /// Set when something new is scheduled, so the worker wakes early.
    #[serde(skip)]
    schedule_changed: bool,
    /// Taken from the queue and being sent: still pending to an observer.
    #[serde(skip)]
    in_flight: usize,
}

impl Webhooks {
    /// Tells the worker its schedule changed (a delivery or settlement is due sooner).
    pub(crate) fn mark_schedule_changed(&mut self) {
        self.schedule_changed = true;
    }

    pub(crate) fn take_schedule_changed(&mut self) -> bool {
        std::mem::take(&mut self.schedule_changed)
    }

    /// Queues `payload` for `target`, applying the account's delivery faults.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn enqueue(
        &mut self,
        faults: &Faults,
        account_id: &str,
        target: Target,
        event_id: &str,
        event_type: &str,
        payload: String,
        now: i64,
    ) {
        let delay = i64::try_from(faults.webhook_delay_ms).unwrap_or(i64::MAX);
        let mut due = now.saturating_add(delay);
        if faults.webhook_reorder {
            // Hold this event; anything still held for the account waits until
            // after it, so newer events overtake older ones.
            due = due.max(now + REORDER_HOLD_MS);
            for held in self.queue.iter_mut().filter(|d| d.account_id == account_id && d.attempts == 0) {
                held.due_ms = held.due_ms.max(due + 1);
            }
        }
        self.next_seq += 1;
        self.queue.push(Delivery {
            seq: self.next_seq,
            account_id: account_id.to_owned(),
            target,
            event_id: event_id.to_owned(),
            event_type: event_type.to_owned(),
            payload,
            created_ms: now,
            attempts: 0,
            copy: 0,
            copies_left: faults.webhook_duplicates,
            due_ms: due,
        });
        self.schedule_changed = true;
    }

    /// Removes and returns deliveries due at `now`, oldest due first.
    fn take_due(&mut self, now: i64) -> Vec<Delivery> {
        let (mut due, waiting): (Vec<_>, Vec<_>) = self.queue.drain(..).partition(|d| d.due_ms <= now);
        self.queue = waiting;
        self.in_flight += due.len();
        due.sort_by_key(|d| (d.due_ms, d.seq));
        due
    }

    fn next_due(&self) -> Option<i64> {
        self.queue.iter().map(|d| d.due_ms).min()
    }

    fn record(&mut self, attempt: DeliveryAttempt) {
        if self.log.len() == LOG_CAPACITY {
            self.log.pop_front();
        }
        self.log.push_back(attempt);
    }

    pub(crate) fn attempts(&self) -> impl Iterator<Item = &DeliveryAttempt> {
        self.log.iter()
    }

    /// Deliveries waiting or being sent.
    pub(crate) fn pending(&self) -> usize {
        self.queue.len() + self.in_flight
    }

    fn finished_one(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
    }
}

/// A delivery ready to send: where, with which headers.
struct Prepared {
    url: String,
    headers: Vec<(&'static str, String)>,
}

fn prepare(world: &World, d: &Delivery, now_ms: i64) -> Option<Prepared> {
    match &d.target {
        Target::Stripe { endpoint_id } => {
            let endpoint = world.stripe.webhook_endpoints.get(endpoint_id).filter(|e| e.enabled())?;
            let signature =
                paylet_webhook::stripe::header(&endpoint.signing_secrets(now_ms), now_ms / 1000, d.payload.as_bytes())
                    .ok()?;
            Some(Prepared {
                url: endpoint.url.clone(),
                headers: vec![
                    ("content-type", "application/json; charset=utf-8".into()),
                    ("user-agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)".into()),
                    ("stripe-signature", signature),
                ],
            })
        }
        Target::Square { subscription_id } => {
            let sub = world.square.subscriptions.get(subscription_id).filter(|s| s.enabled)?;
            let signature =
                paylet_webhook::square::sign(&sub.signature_key, &sub.notification_url, d.payload.as_bytes()).ok()?;
            let mut headers = vec![
                ("content-type", "application/json".into()),
                ("user-agent", "Square Connect v2".into()),
                ("x-square-hmacsha256-signature", signature),
                ("square-initial-delivery-timestamp", rfc3339(d.created_ms)),
            ];
            if d.attempts > 0 {
                headers.push(("square-retry-number", d.attempts.to_string()));
                headers.push(("square-retry-reason", "http_error".into()));
            }
            Some(Prepared { url: sub.notification_url.clone(), headers })
        }
    }
}

/// Sends due deliveries until the process ends. Also settles what settles by
/// time (Square-style refunds).
pub(crate) async fn run(shared: Arc<Shared>) {
    loop {
        let now = now_ms();
        let next_of = |w: &World| w.webhooks.next_due().into_iter().chain(w.square.next_settlement()).min();
        // Only a round with work changes the world (and so the state file).
        let (due, next) = if shared.read(|w| next_of(w).is_some_and(|t| t <= now)) {
            shared.write(|w| {
                crate::square::settle_refunds(w, now);
                (w.webhooks.take_due(now), next_of(w))
            })
        } else {
            (Vec::new(), shared.read(next_of))
        };
        for delivery in due {
            tokio::spawn(attempt(shared.clone(), delivery));
        }
        let wait = next.map_or(1000, |t| (t - now_ms()).clamp(1, 1000));
        let wait = Duration::from_millis(u64::try_from(wait).unwrap_or(1000));
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = shared.wake.notified() => {}
        }
    }
}

enum Result {
    Delivered(u16),
    Failed(Option<u16>, String),
    Dropped,
}

async fn attempt(shared: Arc<Shared>, mut d: Delivery) {
    let now = now_ms();
    let (prepared, faults) = shared
        .read(|w| (prepare(w, &d, now), w.accounts.get(&d.account_id).map(|a| a.faults.clone()).unwrap_or_default()));
    let Some(prepared) = prepared else {
        shared.write(|w| {
            w.webhooks.finished_one();
            w.webhooks.record(log_entry(
                &d,
                String::new(),
                "abandoned",
                None,
                Some("destination removed or disabled".into()),
            ))
        });
        return;
    };
    let result = if d.attempts < faults.webhook_drop_first {
        Result::Dropped
    } else {
        let mut request = shared.http.post(&prepared.url).body(d.payload.clone());
        for (name, value) in &prepared.headers {
            request = request.header(*name, value);
        }
        match request.send().await {
            Ok(r) if r.status().is_success() => Result::Delivered(r.status().as_u16()),
            Ok(r) => Result::Failed(Some(r.status().as_u16()), format!("HTTP {}", r.status().as_u16())),
            Err(e) if e.is_timeout() => Result::Failed(None, "timed out after 10 s".into()),
            Err(e) => Result::Failed(None, format!("could not connect: {e}")),
        }
    };
    d.attempts += 1;
    let schedule = &shared.config.retry_schedule;
    shared.write(|w| {
        w.webhooks.finished_one();
        let (outcome, status, error) = match result {
            Result::Delivered(status) => ("delivered", Some(status), None),
            Result::Failed(status, error) => ("failed", status, Some(error)),
            Result::Dropped => ("dropped", None, Some("dropped by fault injection".into())),
        };
        w.webhooks.record(log_entry(&d, prepared.url.clone(), outcome, status, error));
        if outcome == "delivered" {
            if d.copies_left > 0 {
                d.copies_left -= 1;
                d.copy += 1;
                d.attempts = 0;
                d.due_ms = now_ms();
                w.webhooks.queue.push(d);
                w.webhooks.mark_schedule_changed();
            }
            return;
        }
        let retry = usize::try_from(d.attempts - 1).ok().and_then(|i| schedule.get(i));
        match retry {
            Some(wait) => {
                d.due_ms = now_ms() + i64::try_from(wait.as_millis()).unwrap_or(i64::MAX);
                w.webhooks.queue.push(d);
                w.webhooks.mark_schedule_changed();
            }
            None => w.webhooks.record(log_entry(&d, prepared.url, "abandoned", None, Some("retries exhausted".into()))),
        }
    });
}

fn log_entry(d: &Delivery, url: String, outcome: &str, status: Option<u16>, error: Option<String>) -> DeliveryAttempt {
    DeliveryAttempt {
        account_id: d.account_id.clone(),
        event_id: d.event_id.clone(),
        event_type: d.event_type.clone(),
        url,
        attempt: d.attempts,
        duplicate: d.copy > 0,
        at_ms: now_ms(),
        outcome: outcome.into(),
        status,
        error,
    }
}

/// The default retry schedule, like Square's: 1, 2, 4, 8, 16 and 32 minutes,
/// then hourly to 72 hours.
pub fn default_retry_schedule() -> Vec<Duration> {
    let mut schedule: Vec<Duration> = (0..6).map(|i| Duration::from_secs(60 << i)).collect();
    schedule.extend(std::iter::repeat_n(Duration::from_secs(3600), 71));
    schedule
}

/// Parses `100ms,1s,2m,1h` into a schedule.
pub fn parse_retry_schedule(text: &str) -> Option<Vec<Duration>> {
    text.split(',')
        .map(|part| {
            let part = part.trim();
            let (number, unit) = part.split_at(part.find(|c: char| !c.is_ascii_digit())?);
            let n: u64 = number.parse().ok()?;
            match unit {
                "ms" => Some(Duration::from_millis(n)),
                "s" => Some(Duration::from_secs(n)),
                "m" => Some(Duration::from_secs(n * 60)),
                "h" => Some(Duration::from_secs(n * 3600)),
                _ => None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_schedules() {
        assert_eq!(
            parse_retry_schedule("100ms, 2s,1m,1h"),
            Some(vec![
                Duration::from_millis(100),
                Duration::from_secs(2),
                Duration::from_secs(60),
                Duration::from_secs(3600)
            ])
        );
        assert_eq!(parse_retry_schedule("5"), None);
        assert_eq!(parse_retry_schedule("1d"), None);
        assert_eq!(default_retry_schedule().iter().map(Duration::as_secs).sum::<u64>(), 3780 + 71 * 3600);
    }

    #[test]
    fn reordering_lets_a_newer_event_overtake() {
        let mut hooks = Webhooks::default();
        let faults = Faults { webhook_reorder: true, ..Faults::default() };
        let target = Target::Stripe { endpoint_id: "we_1".into() };
        hooks.enqueue(&faults, "acct", target.clone(), "evt_old", "a", "{}".into(), 1000);
        hooks.enqueue(&faults, "acct", target, "evt_new", "b", "{}".into(), 1010);
        let order: Vec<_> = hooks.take_due(i64::MAX).into_iter().map(|d| d.event_id).collect();
        assert_eq!(order, ["evt_new", "evt_old"]);
    }

    #[test]
    fn delay_postpones_the_first_attempt() {
        let mut hooks = Webhooks::default();
        let faults = Faults { webhook_delay_ms: 500, ..Faults::default() };
        hooks.enqueue(&faults, "acct", Target::Square { subscription_id: "s".into() }, "e", "t", "{}".into(), 1000);
        assert!(hooks.take_due(1499).is_empty());
        assert_eq!(hooks.take_due(1500).len(), 1);
    }
}
