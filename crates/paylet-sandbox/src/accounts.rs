use paylet_secret::Secret;

/// A sandbox merchant account and its four credentials: two per gateway style,
/// one public (used in browsers) and one secret (used by servers).
#[derive(Debug, Clone)]
pub struct Account {
    pub id: String,
    /// Stripe style, browser: `pk_test_…`.
    pub publishable_key: String,
    /// Stripe style, server: `sk_test_…`.
    pub secret_key: Secret,
    /// Square style, browser: `sandbox-sq0idb-…`.
    pub application_id: String,
    /// Square style, server: `EAAA…`.
    pub access_token: Secret,
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
}

pub const DEMO_ACCOUNT: DemoAccount = DemoAccount {
    id: "acct_demo",
    publishable_key: "pk_test_paylet_demo",
    secret_key: "sk_test_paylet_demo",
    application_id: "sandbox-sq0idb-paylet-demo",
    access_token: "EAAAEpaylet_demo",
};

impl Account {
    pub(crate) fn demo() -> Account {
        Account {
            id: DEMO_ACCOUNT.id.into(),
            publishable_key: DEMO_ACCOUNT.publishable_key.into(),
            secret_key: DEMO_ACCOUNT.secret_key.into(),
            application_id: DEMO_ACCOUNT.application_id.into(),
            access_token: DEMO_ACCOUNT.access_token.into(),
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
        }
    }
}

/// Which of an account's credentials a request presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyKind {
    Publishable,
    Secret,
}
