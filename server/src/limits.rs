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
use serde::Deserialize;
use sqlx::Row;

use crate::Error;
use crate::app::AppState;
use crate::db::{Backend, Db, now_millis};

const WINDOW_MS: i64 = 60_000;

/// Requests allowed per minute; 0 means no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    pub orders_per_ip: u32,
    pub orders_per_store: u32,
    pub payments_per_ip: u32,
    pub payments_per_store: u32,
    pub payments_per_order: u32,
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
            other => return Err(format!("`{other}` is not a limit; see `paylet serve --help`")),
        };
        *field = value;
        Ok(())
    }
}

/// What a client is about to do, and to whom.
pub enum Action<'a> {
    CreateOrder { store: &'a StoreId },
    Pay { store: &'a StoreId, order: &'a OrderId },
}

/// Counts the request against every limit it falls under; refuses it with
/// [`Error::RateLimited`] if it is over any of them. A refused request still
/// counts: a script that keeps trying stays refused.
pub async fn check(state: &AppState, client: IpAddr, action: Action<'_>) -> Result<(), Error> {
    let (limits, client) = (&state.settings.limits, subject_of(client));
    let counters: Vec<(String, u32, &'static str)> = match action {
        Action::CreateOrder { store } => vec![
            (format!("ip:{client}:orders"), limits.orders_per_ip, "orders from your network"),
            (format!("store:{store}:orders"), limits.orders_per_store, "orders at this store"),
        ],
        Action::Pay { store, order } => vec![
            (format!("ip:{client}:payments"), limits.payments_per_ip, "payment attempts from your network"),
            (format!("store:{store}:payments"), limits.payments_per_store, "payment attempts at this store"),
            (format!("order:{order}:payments"), limits.payments_per_order, "payment attempts for this order"),
        ],
    };
    let counters: Vec<_> = counters.into_iter().filter(|(_, limit, _)| *limit > 0).collect();
    if counters.is_empty() {
        return Ok(());
    }
    let now = now_millis();
    let window = now - now.rem_euclid(WINDOW_MS);
    let subjects: Vec<&str> = counters.iter().map(|(subject, ..)| subject.as_str()).collect();
    let hits = match state.db.backend() {
        Backend::Sqlite => state.counts.add(window, &subjects),
        Backend::Postgres => add_in_database(&state.db, window, &subjects).await?,
    };
    let retry_after = u64::try_from((window + WINDOW_MS - now + 999) / 1000).unwrap_or(1).max(1);
    let over = |((_, limit, _), hits): &(&(String, u32, &str), i64)| *hits > i64::from(*limit);
    match counters.iter().zip(hits).find(over) {
        Some(((_, _, what), _)) => Err(Error::RateLimited {
            message: format!("Too many {what}. Please try again in {retry_after} seconds."),
            retry_after,
        }),
        None => Ok(()),
    }
}

/// This process's counts of the current window, for SQLite.
#[derive(Clone, Default)]
pub struct Counts(Arc<Mutex<(i64, HashMap<String, i64>)>>);

impl Counts {
    /// Adds one to each subject's count in `window`; returns the new counts.
    fn add(&self, window: i64, subjects: &[&str]) -> Vec<i64> {
        let mut counts = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (current, hits) = &mut *counts;
        if *current != window {
            // A new minute: the last one's counts are done with.
            *current = window;
            hits.clear();
        }
        subjects
            .iter()
            .map(|subject| {
                let count = hits.entry((*subject).to_owned()).or_insert(0);
                *count += 1;
                *count
            })
            .collect()
    }
}

/// Adds one to each subject's count in `window` in the database, shared by
/// every instance; returns the counts after.
async fn add_in_database(db: &Db, window: i64, subjects: &[&str]) -> Result<Vec<i64>, Error> {
    let subjects: Vec<String> = subjects.iter().map(|s| (*s).to_owned()).collect();
    db.write(move |conn| {
        Box::pin(async move {
            let mut hits = Vec::with_capacity(subjects.len());
            for subject in subjects {
                // One statement, so two instances never lose a count.
                let row = sqlx::query(
                    "INSERT INTO rate_counters (subject, window_start, hits) VALUES ($1, $2, 1) \
                     ON CONFLICT (subject, window_start) DO UPDATE SET hits = rate_counters.hits + 1 \
                     RETURNING hits",
                )
                .bind(subject)
                .bind(window)
                .fetch_one(&mut *conn)
                .await?;
                hits.push(row.try_get::<i64, _>("hits")?);
            }
            Ok(hits)
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
    let done =
        sqlx::query("DELETE FROM rate_counters WHERE window_start < $1").bind(current).execute(db.writer()).await?;
    Ok(done.rows_affected())
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

    #[test]
    fn counts_add_up_within_a_minute_and_start_again_in_the_next() {
        let counts = Counts::default();
        assert_eq!(counts.add(60_000, &["ip:a", "store:s"]), vec![1, 1]);
        assert_eq!(counts.add(60_000, &["ip:b", "store:s"]), vec![1, 2]);
        assert_eq!(counts.add(120_000, &["ip:a", "store:s"]), vec![1, 1]);
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
