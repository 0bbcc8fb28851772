//! All sandbox state lives in one [`World`] behind one mutex: every change to an
//! object and the events it raises happen together, and `--state` persistence
//! is a snapshot of one value. The lock is never held across an `.await`.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use paylet_secret::constant_time_eq;
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use crate::SandboxConfig;
use crate::accounts::{Account, KeyKind};
use crate::control::LoggedRequest;
use crate::idempotency::IdempotencyStore;
use crate::square::objects::SquareObjects;
use crate::stripe::objects::StripeObjects;
use crate::webhooks::Webhooks;

/// How many requests the request log keeps.
const REQUEST_LOG_CAPACITY: usize = 1000;

#[derive(Serialize, Deserialize)]
pub(crate) struct World {
    pub accounts: BTreeMap<String, Account>,
    pub stripe: StripeObjects,
    pub square: SquareObjects,
    pub idempotency: IdempotencyStore,
    pub webhooks: Webhooks,
}

impl World {
    pub(crate) fn new(capacity: usize) -> World {
        let demo = Account::demo();
        World {
            accounts: BTreeMap::from([(demo.id.clone(), demo)]),
            stripe: StripeObjects::new(capacity),
            square: SquareObjects::new(capacity),
            idempotency: IdempotencyStore::new(capacity),
            webhooks: Webhooks::default(),
        }
    }

    /// The account owning a Stripe-style key, and which key it is. Every stored
    /// key is compared in constant time.
    pub(crate) fn stripe_account(&self, key: &str) -> Option<(&Account, KeyKind)> {
        self.accounts.values().find_map(|a| {
            if constant_time_eq(a.publishable_key.as_bytes(), key.as_bytes()) {
                Some((a, KeyKind::Publishable))
            } else if a.secret_key.ct_eq(key.as_bytes()) {
                Some((a, KeyKind::Secret))
            } else {
                None
            }
        })
    }

    pub(crate) fn square_account_by_token(&self, token: &str) -> Option<&Account> {
        self.accounts.values().find(|a| a.access_token.ct_eq(token.as_bytes()))
    }

    pub(crate) fn square_account_by_application(&self, application_id: &str) -> Option<&Account> {
        self.accounts.values().find(|a| constant_time_eq(a.application_id.as_bytes(), application_id.as_bytes()))
    }

    /// Consumes one injected charge failure, if any is pending, and returns
    /// whether this charge fails and how long its answer is delayed.
    pub(crate) fn charge_fault(&mut self, account_id: &str) -> ChargeFault {
        let Some(account) = self.accounts.get_mut(account_id) else {
            return ChargeFault::default();
        };
        let faults = &mut account.faults;
        let fail = if faults.charge_fail_next > 0 {
            faults.charge_fail_next -= 1;
            Some(Failure::ServerError)
        } else if faults.charge_rate_limit_next > 0 {
            faults.charge_rate_limit_next -= 1;
            Some(Failure::RateLimited)
        } else {
            None
        };
        ChargeFault { fail, latency: Duration::from_millis(faults.charge_latency_ms) }
    }
}

impl World {
    /// Consumes one injected `action_without_redirect_next`, if any is pending.
    pub(crate) fn action_without_redirect(&mut self, account_id: &str) -> bool {
        let Some(account) = self.accounts.get_mut(account_id) else { return false };
        let next = &mut account.faults.action_without_redirect_next;
        if *next == 0 {
            return false;
        }
        *next -= 1;
        true
    }

    /// How long a refund's answer is delayed after the refund was made.
    pub(crate) fn refund_latency(&self, account_id: &str) -> Duration {
        self.accounts.get(account_id).map_or(Duration::ZERO, |a| Duration::from_millis(a.faults.charge_latency_ms))
    }
}

#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct ChargeFault {
    /// How this charge fails before doing anything, if it does.
    pub fail: Option<Failure>,
    pub latency: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// HTTP 500.
    ServerError,
    /// HTTP 429: the account is over its rate limit.
    RateLimited,
}

impl ChargeFault {
    /// Waits out the injected latency, after the charge has been processed.
    pub(crate) async fn delay(self) {
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
    }
}

pub(crate) struct Shared {
    pub config: SandboxConfig,
    world: Mutex<World>,
    log: Mutex<VecDeque<LoggedRequest>>,
    /// Set by every change; the persister writes the state file when it is set.
    dirty: AtomicBool,
    /// Wakes the delivery worker when something is queued.
    pub wake: Notify,
    pub http: reqwest::Client,
}

/// Locks a mutex, recovering the data if a previous holder panicked: every
/// critical section leaves the world consistent, so the data is still good.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Shared {
    pub(crate) fn new(config: SandboxConfig, world: World) -> Shared {
        let http = config
            .webhook_root_certificates
            .iter()
            .fold(reqwest::Client::builder(), |builder, cert| builder.add_root_certificate(cert.clone()))
            .timeout(Duration::from_secs(10))
            .user_agent("PayletSandbox-Webhooks/1.0")
            .build()
            .unwrap_or_default();
        Shared {
            config,
            world: Mutex::new(world),
            log: Mutex::new(VecDeque::new()),
            dirty: AtomicBool::new(false),
            wake: Notify::new(),
            http,
        }
    }

    /// Reads the world.
    pub(crate) fn read<R>(&self, f: impl FnOnce(&World) -> R) -> R {
        f(&lock(&self.world))
    }

    /// Changes the world; marks it for persistence, and wakes the delivery
    /// worker if the change scheduled something for it.
    pub(crate) fn write<R>(&self, f: impl FnOnce(&mut World) -> R) -> R {
        let (result, wake) = {
            let mut world = lock(&self.world);
            let result = f(&mut world);
            (result, world.webhooks.take_schedule_changed())
        };
        self.dirty.store(true, Ordering::Release);
        if wake {
            self.wake.notify_one();
        }
        result
    }

    pub(crate) fn take_dirty(&self) -> bool {
        self.dirty.swap(false, Ordering::AcqRel)
    }

    pub(crate) fn log_request(&self, entry: LoggedRequest) {
        let mut log = lock(&self.log);
        if log.len() == REQUEST_LOG_CAPACITY {
            log.pop_front();
        }
        log.push_back(entry);
    }

    pub(crate) fn request_log(&self) -> Vec<LoggedRequest> {
        lock(&self.log).iter().cloned().collect()
    }
}
