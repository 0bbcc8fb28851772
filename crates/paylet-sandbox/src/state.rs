use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

use paylet_secret::constant_time_eq;

use crate::accounts::{Account, KeyKind};
use crate::control::LoggedRequest;
use crate::stripe::objects::StripeObjects;

/// How many requests the log keeps; older ones are dropped.
const REQUEST_LOG_CAPACITY: usize = 1000;

/// All sandbox state. Each part has its own lock, held only for map operations.
pub(crate) struct Shared {
    accounts: Mutex<HashMap<String, Account>>,
    pub(crate) stripe: Mutex<StripeObjects>,
    log: Mutex<VecDeque<LoggedRequest>>,
}

/// Locks a mutex, recovering the data if a previous holder panicked: every
/// critical section here leaves the maps consistent, so the data is still good.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Shared {
    pub(crate) fn new() -> Shared {
        let demo = Account::demo();
        Shared {
            accounts: Mutex::new(HashMap::from([(demo.id.clone(), demo)])),
            stripe: Mutex::new(StripeObjects::default()),
            log: Mutex::new(VecDeque::new()),
        }
    }

    pub(crate) fn create_account(&self) -> Account {
        let account = Account::random();
        lock(&self.accounts).insert(account.id.clone(), account.clone());
        account
    }

    /// The account owning `key` and which Stripe-style key it is. Every stored key
    /// is compared in constant time.
    pub(crate) fn stripe_account_for_key(&self, key: &str) -> Option<(Account, KeyKind)> {
        let accounts = lock(&self.accounts);
        accounts.values().find_map(|a| {
            if constant_time_eq(a.publishable_key.as_bytes(), key.as_bytes()) {
                Some((a.clone(), KeyKind::Publishable))
            } else if a.secret_key.ct_eq(key.as_bytes()) {
                Some((a.clone(), KeyKind::Secret))
            } else {
                None
            }
        })
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
