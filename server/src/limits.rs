//! Abuse limits (card-testing defence): how many orders and payment attempts
//! one client address, one store and one order may make per minute. On
//! Postgres the counters live in the database, so every instance on one
//! database enforces one limit; on SQLite, whose file is served by one
//! process, they live in that process's memory, which costs an order nothing
//! on the single writer. A request over a limit gets 429 with `Retry-After`.
//!
//! The windows are fixed minutes: simple, one count per subject, and at worst
//! a burst of twice a limit across a minute's boundary. The order's decline
//! lock (`payments::MAX_DECLINES`) is the other brake.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use paylet_api::{OrderId, StoreId};
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::db::{Backend, Db, now_millis, rate_counters};

const WINDOW_MS: i64 = 60_000;

/// Requests allowed per minute; 0 means no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    pub orders_per_ip: u32,
    pub orders_per_store: u32,
    pub payments_per_ip: u32,
    pub payments_per_store: u32,
    pub payments_per_order: u32,
    /// CSP violation reports: anyone can post them.
    pub reports_per_ip: u32,
    pub reports_per_store: u32,
}

impl Default for Limits {
    /// Far above what a shopper does, and a shop's busiest minute; far below a
    /// card-testing script.
    fn default() -> Limits {
        Limits {
            orders_per_ip: 30,
            orders_per_store: 3000,
            payments_per_ip: 30,
            payments_per_store: 3000,
            payments_per_order: 10,
            // A page load with a skimmer on it reports a few refusals.
            reports_per_ip: 20,
            reports_per_store: 1200,
        }
    }
}

impl Limits {
    pub const OFF: Limits = Limits {
        orders_per_ip: 0,
        orders_per_store: 0,
        payments_per_ip: 0,
        payments_per_store: 0,
        payments_per_order: 0,
        reports_per_ip: 0,
        reports_per_store: 0,
    };

    /// Applies `name=N` (a field of [`Limits`]) or `off` (every limit off).
    pub fn set(&mut self, setting: &str) -> Result<(), String> {
        if setting == "off" {
            *self = Limits::OFF;
            return Ok(());
        }
        let (name, value) = setting.split_once('=').ok_or_else(|| format!("`{setting}`: expected NAME=N or off"))?;
        let value: u32 = value.trim().parse().map_err(|_| format!("`{setting}`: {value} is not a whole number"))?;
        let field = match name.trim() {
            "orders_per_ip" => &mut self.orders_per_ip,
            "orders_per_store" => &mut self.orders_per_store,
            "payments_per_ip" => &mut self.payments_per_ip,
            "payments_per_store" => &mut self.payments_per_store,
            "payments_per_order" => &mut self.payments_per_order,
            "reports_per_ip" => &mut self.reports_per_ip,
            "reports_per_store" => &mut self.reports_per_store,
            other => return Err(format!("`{other}` is not a limit; see `paylet serve --help`")),
        };
        *field = value;
        Ok(())
    }
}

/// What a client is about to do, and to whom.
pub enum Action<'a> {
    CreateOrder {
        store: &'a StoreId,
    },
    /// A payment attempt on an order the client has proved it may pay (its
    /// client secret checked), so nobody can use up another's order.
    Pay {
        store: &'a StoreId,
        order: &'a OrderId,
    },
    /// A browser's CSP violation report.
    Report {
        store: &'a StoreId,
    },
}

/// One limit a request falls under.
struct Counter {
    subject: String,
    limit: u32,
    what: &'static str,
}

/// How often a shopper's `refresh` may ask the gateway about an order.
const REFRESH_EVERY_MS: i64 = 2_000;

/// The limits and their counts: what each request is checked against.
#[derive(Clone)]
pub struct Limiter {
    db: Db,
    limits: Limits,
    /// This process's counts, when it keeps them (SQLite; on Postgres they
    /// are in the database).
    counts: Counts,
}

impl Limiter {
    pub fn new(db: Db, limits: Limits) -> Limiter {
        Limiter { db, limits, counts: Counts::default() }
    }

    /// Counts the request against the limits it falls under, narrowest first
    /// (its address, then its order, then its store), and refuses it with
    /// [`Error::RateLimited`] at the first it is over. Counting stops there: a
    /// request refused for its address never counts against the store, so one
    /// client far past its limit leaves every other client its whole budget. The
    /// refused request still counts against the limit that refused it, so a
    /// script that keeps trying stays refused.
    pub async fn check(&self, client: IpAddr, action: Action<'_>) -> Result<(), Error> {
        let (limits, client) = (&self.limits, subject_of(client));
        let counter = |subject: String, limit: u32, what: &'static str| Counter { subject, limit, what };
        let counters: Vec<Counter> = match action {
            Action::CreateOrder { store } => vec![
                counter(format!("ip:{client}:orders"), limits.orders_per_ip, "orders from your network"),
                counter(format!("store:{store}:orders"), limits.orders_per_store, "orders at this store"),
            ],
            Action::Pay { store, order } => vec![
                counter(format!("ip:{client}:payments"), limits.payments_per_ip, "payment attempts from your network"),
                counter(
                    format!("order:{order}:payments"),
                    limits.payments_per_order,
                    "payment attempts for this order",
                ),
                counter(format!("store:{store}:payments"), limits.payments_per_store, "payment attempts at this store"),
            ],
            Action::Report { store } => vec![
                counter(format!("ip:{client}:reports"), limits.reports_per_ip, "reports from your network"),
                counter(format!("store:{store}:reports"), limits.reports_per_store, "reports for this store"),
            ],
        };
        let counters: Vec<Counter> = counters.into_iter().filter(|c| c.limit > 0).collect();
        if counters.is_empty() {
            return Ok(());
        }
        let now = now_millis();
        let window = now - now.rem_euclid(WINDOW_MS);
        let refused = self.count(window, &counters).await?;
        let retry_after = u64::try_from((window + WINDOW_MS - now + 999) / 1000).unwrap_or(1).max(1);
        match refused.map(|i| counters[i].what) {
            Some(what) => Err(Error::RateLimited {
                message: format!("Too many {what}. Please try again in {retry_after} seconds."),
                retry_after,
            }),
            None => Ok(()),
        }
    }

    /// Whether the gateway may be asked about `order` now: once per
    /// [`REFRESH_EVERY_MS`] per order, across instances, however many clients
    /// ask; the others are answered from the database. Each call to the gateway
    /// spends the store's own rate limit there, which its real shoppers need.
    pub async fn may_refresh(&self, order: &OrderId) -> Result<bool, Error> {
        let now = now_millis();
        let slot = now.div_euclid(REFRESH_EVERY_MS);
        let counter = Counter { subject: format!("order:{order}:refresh:{slot}"), limit: 1, what: "" };
        Ok(self.count(now - now.rem_euclid(WINDOW_MS), &[counter]).await?.is_none())
    }

    /// Counts `counters` in `window` where this backend keeps its counts; the
    /// index of the first one over its limit.
    async fn count(&self, window: i64, counters: &[Counter]) -> Result<Option<usize>, Error> {
        match self.db.backend() {
            Backend::Sqlite => Ok(self.counts.count(window, counters)),
            Backend::Postgres => {
                let counters = counters.iter().map(|c| (c.subject.clone(), c.limit)).collect();
                count_in_database(&self.db, window, counters).await
            }
        }
    }
}

/// This process's counts of the current window, for SQLite.
#[derive(Clone, Default)]
struct Counts(Arc<Mutex<(i64, HashMap<String, i64>)>>);

impl Counts {
    /// Adds one to each counter's count in `window`, in order, up to and
    /// including the first that goes over its limit; returns that one's index.
    fn count(&self, window: i64, counters: &[Counter]) -> Option<usize> {
        let mut counts = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (current, hits) = &mut *counts;
        if *current != window {
            // A new minute: the last one's counts are done with.
            *current = window;
            hits.clear();
        }
        counters.iter().position(|c| {
            let count = hits.entry(c.subject.clone()).or_insert(0);
            *count += 1;
            *count > i64::from(c.limit)
        })
    }
}

/// [`Counts::count`] in the database, shared by every instance. Each count is
/// one statement, so two instances never lose one; every request counts its
/// subjects in the same order, so two never wait on each other's rows.
async fn count_in_database(db: &Db, window: i64, counters: Vec<(String, u32)>) -> Result<Option<usize>, Error> {
    db.write(move |conn| {
        Box::pin(async move {
            for (i, (subject, limit)) in counters.into_iter().enumerate() {
                if rate_counters::hit(conn, &subject, window).await? > i64::from(limit) {
                    return Ok(Some(i));
                }
            }
            Ok(None)
        })
    })
    .await
}

/// An IPv4 address, or an IPv6 address's /64: one network hands out a whole
/// /64, so counting single IPv6 addresses would count nothing.
fn subject_of(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
        },
        v4 => v4,
    }
}

/// Deletes the windows that have ended; returns how many rows went.
pub async fn expire(db: &Db) -> Result<u64, Error> {
    let now = now_millis();
    let current = now - now.rem_euclid(WINDOW_MS);
    rate_counters::expire(db, current).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_read_by_name_and_off_turns_every_limit_off() {
        let mut limits = Limits::default();
        limits.set("payments_per_order=3").unwrap();
        assert_eq!(limits.payments_per_order, 3);
        assert!(limits.set("payments_per_moon=3").unwrap_err().contains("payments_per_moon"));
        assert!(limits.set("orders_per_ip=lots").is_err());
        assert!(limits.set("orders_per_ip").is_err());
        limits.set("off").unwrap();
        assert_eq!(limits, Limits::OFF);
    }

    fn counters(ip: &str) -> [Counter; 2] {
        [
            Counter { subject: format!("ip:{ip}"), limit: 1, what: "" },
            Counter { subject: "store:s".into(), limit: 2, what: "" },
        ]
    }

    #[test]
    fn counts_stop_at_the_first_limit_refused_and_start_again_each_minute() {
        let counts = Counts::default();
        assert_eq!(counts.count(60_000, &counters("a")), None);
        // `a` is over its own limit: the store does not count it.
        assert_eq!(counts.count(60_000, &counters("a")), Some(0));
        assert_eq!(counts.count(60_000, &counters("b")), None);
        assert_eq!(counts.count(60_000, &counters("c")), Some(1));
        assert_eq!(counts.count(120_000, &counters("a")), None);
    }

    #[test]
    fn an_ipv6_client_is_counted_by_its_network() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(subject_of(a), subject_of(b));
        assert_ne!(subject_of(a), subject_of(other));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(subject_of(mapped), "192.0.2.7".parse::<IpAddr>().unwrap());
    }
}
