//! Integration tests: the real server over HTTP, on a real database (SQLite, or
//! Postgres with `PAYLET_TEST_DATABASE=postgres`), charging through the real
//! sandbox over HTTP. One binary, as zero-to-production recommends, so it links
//! once.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod admin;
mod card_guard;
mod cli;
mod faults;
mod fuzz;
mod helpers;
mod https;
mod idempotency;
mod integrity;
mod limits;
mod notifications;
mod ops;
mod orders;
mod outbound;
mod payments;
mod refunds;
mod secrets;
mod storage;
mod webhooks;
mod widget;
