use paylet_secret::Secret;
use serde::{Deserialize, Serialize};

/// A sandbox merchant account: credentials for both gateway styles (one public
/// for browsers, one secret for servers), Square's merchant and location, and
/// the faults injected into its traffic.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Account {
    pub id: String,
    /// Stripe style, browser: `pk_test_…`.
    pub publishable_key: String,
    /// Stripe style, server: `sk_test_…`.
    #[serde(with = "paylet_secret::expose")]
    pub secret_key: Secret,
    /// Square style, browser: `sandbox-sq0idb-…`.
    pub application_id: String,
    /// Square style, server: `EAAA…`.
    #[serde(with = "paylet_secret::expose")]
    pub access_token: Secret,
    pub merchant_id: String,
    pub location_id: String,
    #[serde(default)]
    pub faults: Faults,
}

/// Misbehaviour to inject, per account, through `PUT /_sandbox/accounts/{id}/faults`.
/// Real gateways do all of this now and then; the sandbox does it on request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Each webhook is delivered this many extra times after the first success.
    pub webhook_duplicates: u32,
    /// Newer events overtake older ones still waiting to be sent.
    pub webhook_reorder: bool,
    /// Milliseconds before each webhook's first attempt.
    pub webhook_delay_ms: u64,
    /// The first N attempts of every webhook are dropped (never sent) and retried.
    pub webhook_drop_first: u32,
    /// Milliseconds added to every charge and refund call after it has been
    /// processed, so a client with a shorter timeout gives up on a charge that
    /// happened, and the call's webhook arrives before its answer.
    pub charge_latency_ms: u64,
    /// The next N charge calls fail with HTTP 500 before doing anything.
    pub charge_fail_next: u32,
    /// The next N charge calls are refused with HTTP 429 (the account's rate
    /// limit) before doing anything, after any `charge_fail_next`.
    pub charge_rate_limit_next: u32,
    /// Stripe style: the next N payments that need authentication ask for it
    /// only through Stripe.js (`next_action.type = use_stripe_sdk`), even
    /// though a `return_url` was given, as Stripe does for flows a redirect
    /// cannot serve.
    pub action_without_redirect_next: u32,
}

/// Keys of the account every sandbox starts with, so `paylet demo` and README
/// examples work without set-up. Like Stripe's documented sample keys they are
/// public: the sandbox moves no money.
pub struct DemoAccount {
    pub id: &'static str,
    pub publishable_key: &'static str,
    pub secret_key: &'static str,
    pub application_id: &'static str,
    pub access_token: &'static str,
    pub location_id: &'static str,
}

pub const DEMO_ACCOUNT: DemoAccount = DemoAccount {
    id: "acct_demo",
    publishable_key: "pk_test_paylet_demo",
    secret_key: "sk_test_paylet_demo",
    application_id: "sandbox-sq0idb-paylet-demo",
    access_token: "EAAAEpaylet_demo",
    location_id: "LDEMO0000000",
};

impl Account {
    pub(crate) fn demo() -> Account {
        Account {
            id: DEMO_ACCOUNT.id.into(),
            publishable_key: DEMO_ACCOUNT.publishable_key.into(),
            secret_key: DEMO_ACCOUNT.secret_key.into(),
            application_id: DEMO_ACCOUNT.application_id.into(),
            access_token: DEMO_ACCOUNT.access_token.into(),
            merchant_id: "MDEMO0000000".into(),
            location_id: DEMO_ACCOUNT.location_id.into(),
            faults: Faults::default(),
        }
    }

    pub(crate) fn random() -> Account {
        let r = crate::ids::random_suffix;
        Account {
            id: format!("acct_{}", r(16)),
            publishable_key: format!("pk_test_{}", r(24)),
            secret_key: format!("sk_test_{}", r(24)).into(),
            application_id: format!("sandbox-sq0idb-{}", r(22)),
            access_token: format!("EAAA{}", r(60)).into(),
            merchant_id: r(13).to_uppercase(),
            location_id: r(13).to_uppercase(),
            faults: Faults::default(),
        }
    }
}

/// Which of an account's Stripe-style credentials a request presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyKind {
    Publishable,
    Secret,
}
