//! The sandbox over real HTTP: every endpoint of both styles, webhooks with
//! faults, idempotency, persistence. One binary, so it links once.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod control;
mod helpers;
mod persistence;
mod square;
mod stripe;
mod webhooks;
