//! Stores: a merchant's settings, gateway credentials, allowed origins, the
//! gateway's webhook endpoint and the merchant's own notification endpoint.

use std::sync::Arc;
use std::time::Duration;

use paylet_api::{CardFields, Currency, GatewayStyle, PaymentMethod, PublicGatewayConfig, StoreId};
use paylet_gateway::square::SquareGateway;
use paylet_gateway::stripe::StripeGateway;
use paylet_gateway::{BrowserSdk, Gateway};
use paylet_secret::{KeyError, KeyRing, Secret};
use paylet_webhook::standard::SigningSecret;
use rand::RngCore;

use crate::db::stores::{self as stored, SecretColumn};
use crate::db::{Db, millis, now_millis};
use crate::outbound::UrlRules;
use crate::{Error, ids};

#[derive(Debug, Clone)]
pub struct Store {
    pub id: StoreId,
    pub name: String,
    pub currency: Currency,
    pub payment_methods: Vec<PaymentMethod>,
    /// Origins allowed to embed the widget (`https://shop.example`).
    pub allowed_origins: Vec<String>,
    pub gateway: GatewaySettings,
    pub webhook: WebhookSettings,
    /// Where Paylet sends the merchant its order notifications.
    pub notify: Option<NotifyEndpoint>,
}

impl Store {
    /// The URL the gateway posts this store's webhooks to: as registered, or
    /// this server's own for the store.
    pub fn webhook_url(&self, public_url: &str) -> String {
        self.webhook.url.clone().unwrap_or_else(|| webhook_url(public_url, &self.id, self.gateway.style))
    }
}

#[derive(Debug, Clone)]
pub struct GatewaySettings {
    pub style: GatewayStyle,
    /// Base URL of the gateway's API, for the browser's tokenization call and the
    /// server's charges alike.
    pub api_base: String,
    /// Publishable key or application id: public.
    pub public_key: String,
    /// Secret key or access token.
    pub secret_key: Secret,
    /// Square style: the seller's location.
    pub location_id: Option<String>,
    /// Whose card inputs the shopper types into.
    pub card_fields: CardFields,
}

/// The gateway's webhooks for this store: where they arrive and what signs them.
#[derive(Debug, Clone, Default)]
pub struct WebhookSettings {
    pub endpoint_id: Option<String>,
    /// The URL registered at the gateway, exactly (Square signs it).
    pub url: Option<String>,
    pub secret: Option<Secret>,
    /// The secret being replaced, accepted until the time beside it (ms).
    pub previous: Option<(Secret, i64)>,
}

impl WebhookSettings {
    /// The secrets a webhook may be signed with at `now_ms`.
    pub fn secrets(&self, now_ms: i64) -> Vec<&Secret> {
        let previous = self.previous.as_ref().filter(|(_, until)| now_ms < *until).map(|(s, _)| s);
        self.secret.iter().chain(previous).collect()
    }
}

#[derive(Debug, Clone)]
pub struct NotifyEndpoint {
    pub url: String,
    /// A Standard Webhooks secret, `whsec_…`.
    pub secret: Secret,
}

impl GatewaySettings {
    /// A new webhook endpoint for `url` at this gateway, with its own secret.
    async fn register_webhook(
        &self,
        http: &reqwest::Client,
        url: &str,
    ) -> Result<paylet_gateway::WebhookEndpoint, Error> {
        let key = format!("paylet-webhook-{}", ids::random_string(16));
        Ok(self.client(http).register_webhook(url, &key).await?)
    }

    pub fn public_config(&self) -> PublicGatewayConfig {
        let name = if self.api_base.contains("stripe.com") {
            "Stripe"
        } else if self.api_base.contains("squareup") {
            "Square"
        } else {
            "Paylet Sandbox"
        };
        PublicGatewayConfig {
            style: self.style,
            name: name.to_owned(),
            public_key: self.public_key.clone(),
            api_base: self.api_base.clone(),
            card_fields: self.card_fields,
            sdk_url: self.browser_sdk().map(|sdk| sdk.script_url),
            location_id: self.location_id.clone(),
        }
    }

    /// The gateway's browser SDK, when the shopper types into its card fields.
    pub fn browser_sdk(&self) -> Option<BrowserSdk> {
        let sdk = paylet_gateway::browser_sdk(self.style, &self.api_base);
        sdk.filter(|_| self.card_fields == CardFields::Gateway)
    }

    /// `scheme://host[:port]` of the gateway's API.
    pub fn api_origin(&self) -> Option<String> {
        let url = reqwest::Url::parse(&self.api_base).ok()?;
        Some(url.origin().ascii_serialization()).filter(|o| o != "null")
    }

    /// The adapter for this store's gateway.
    pub fn client(&self, http: &reqwest::Client) -> Arc<dyn Gateway> {
        match self.style {
            GatewayStyle::Stripe => Arc::new(StripeGateway::new(http.clone(), &self.api_base, self.secret_key.clone())),
            GatewayStyle::Square => Arc::new(SquareGateway::new(
                http.clone(),
                &self.api_base,
                self.secret_key.clone(),
                self.location_id.clone(),
            )),
        }
    }
}

impl Store {
    /// Registers this server's webhook URL for a store at its gateway, before
    /// the store is saved: a gateway that refuses the keys refuses the store,
    /// and no half-made store is left behind.
    pub async fn register_webhook(
        &mut self,
        http: &reqwest::Client,
        public_url: &str,
        rules: UrlRules,
    ) -> Result<(), Error> {
        self.check(rules)?;
        let url = webhook_url(public_url, &self.id, self.gateway.style);
        let endpoint = self.gateway.register_webhook(http, &url).await?;
        self.webhook = WebhookSettings {
            endpoint_id: Some(endpoint.id),
            url: Some(url),
            secret: Some(endpoint.secret),
            previous: None,
        };
        Ok(())
    }

    fn check(&self, rules: UrlRules) -> Result<(), Error> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(Error::invalid("invalid_name", "name", "A store name has 1 to 100 characters."));
        }
        for origin in &self.allowed_origins {
            validate_origin(origin)?;
            // A page served over http could be changed on the way to the shopper.
            rules.require_https(origin, "invalid_origin", "allowed_origins")?;
        }
        // The gateway's secret key travels to it with every call.
        rules.require_https(&self.gateway.api_base, "invalid_url", "gateway_url")?;
        if self.payment_methods.is_empty() {
            return Err(Error::invalid("no_payment_methods", "payment_methods", "Enable at least one payment method."));
        }
        Ok(())
    }
}

/// Creates the store, or replaces the settings of the store with its id
/// (its webhook endpoint is kept unless `new` registered one; its
/// notification endpoint, which has its own command, is kept, whatever `new`
/// says of it). Origins and the gateway URL follow `rules`.
pub async fn put(db: &Db, new: Store, rules: UrlRules) -> Result<Store, Error> {
    new.check(rules)?;
    let name = new.name.trim();
    let id = new.id.clone();
    let (g, w) = (&new.gateway, &new.webhook);
    let row = stored::Row {
        id: id.as_str().to_owned(),
        name: name.to_owned(),
        currency: new.currency.code().to_owned(),
        payment_methods: new.payment_methods.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(" "),
        allowed_origins: new.allowed_origins.join(" "),
        gateway_style: g.style.as_str().to_owned(),
        gateway_api_base: g.api_base.clone(),
        gateway_public_key: g.public_key.clone(),
        gateway_secret_key: seal(db, &id, GATEWAY, &g.secret_key)?,
        gateway_location_id: g.location_id.clone(),
        webhook_endpoint_id: w.endpoint_id.clone(),
        webhook_url: w.url.clone(),
        webhook_secret: w.secret.as_ref().map(|s| seal(db, &id, WEBHOOK, s)).transpose()?,
        webhook_secret_previous: None,
        webhook_secret_previous_until: None,
        notify_url: None,
        notify_secret: None,
        card_fields: g.card_fields.as_str().to_owned(),
    };
    stored::put(db, row, now_millis()).await?;
    find(db, &id).await
}

/// Card fields for a store that names none: the gateway's own on its real
/// API, where only its SDK can take a card (a standard Stripe or Square
/// account), and Paylet's elsewhere (the sandbox takes raw card tokens).
pub fn default_card_fields(style: GatewayStyle, api_base: &str) -> CardFields {
    let official = paylet_gateway::browser_sdk(style, api_base).is_some_and(|sdk| sdk.official);
    if official { CardFields::Gateway } else { CardFields::Paylet }
}

/// Changes whose card inputs the store's shoppers type into.
pub async fn set_card_fields(db: &Db, id: &StoreId, card_fields: CardFields) -> Result<Store, Error> {
    if !stored::set_card_fields(db, id.as_str(), card_fields.as_str()).await? {
        return Err(Error::NotFound("store"));
    }
    find(db, id).await
}

/// The URL a store's gateway posts its webhooks to.
pub fn webhook_url(public_url: &str, store: &StoreId, style: GatewayStyle) -> String {
    format!("{}/v1/webhooks/{store}/{}", public_url.trim_end_matches('/'), style.as_str())
}

/// Registers this server's webhook URL at the store's gateway as a new
/// endpoint, keeps its secret and removes the endpoint it replaces. The old
/// secret stays valid for `overlap`, so events it signed while in flight
/// still verify.
pub async fn register_webhook(
    db: &Db,
    http: &reqwest::Client,
    store: &Store,
    public_url: &str,
    overlap: Duration,
) -> Result<Store, Error> {
    let url = webhook_url(public_url, &store.id, store.gateway.style);
    let endpoint = store.gateway.register_webhook(http, &url).await?;
    let updated = set_webhook(db, store, Some(&endpoint.id), &url, &endpoint.secret, overlap).await?;
    if let Some(old) = store.webhook.endpoint_id.as_deref().filter(|old| *old != endpoint.id) {
        // Best effort: left in place it only sends copies that fail to verify.
        if let Err(e) = store.gateway.client(http).remove_webhook(old).await {
            tracing::warn!(store = %store.id, endpoint = old, error = %e, "could not remove the replaced webhook endpoint");
        }
    }
    Ok(updated)
}

/// Sets the webhook secret by hand (a gateway without an API for endpoints,
/// or a secret rolled in the gateway's dashboard), keeping the old one valid
/// for `overlap`.
pub async fn set_webhook(
    db: &Db,
    store: &Store,
    endpoint_id: Option<&str>,
    url: &str,
    secret: &Secret,
    overlap: Duration,
) -> Result<Store, Error> {
    if secret.expose().trim().is_empty() {
        return Err(Error::invalid("invalid_secret", "secret", "A webhook secret cannot be empty."));
    }
    let until = now_millis().saturating_add(millis(overlap));
    stored::set_webhook(db, store.id.as_str(), endpoint_id, url, seal(db, &store.id, WEBHOOK, secret)?, until).await?;
    find(db, &store.id).await
}

/// Points the store's notifications at `url` with a new signing secret,
/// returned here once; `None` stops them. `url` must follow `rules`: https,
/// to a host that resolves to public addresses only, unless allowed.
pub async fn set_notify_url(
    db: &Db,
    store: &StoreId,
    url: Option<&str>,
    rules: UrlRules,
) -> Result<Option<Secret>, Error> {
    if let Some(url) = url {
        rules.check_notify_url(url).await?;
    }
    let secret = url.map(|_| {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        SigningSecret::from_bytes(&bytes).1
    });
    let sealed = secret.as_ref().map(|s| seal(db, store, NOTIFY, s)).transpose()?;
    stored::set_notify(db, store.as_str(), url, sealed).await?;
    Ok(secret)
}

pub async fn find(db: &Db, id: &StoreId) -> Result<Store, Error> {
    let row = stored::find(db, id.as_str()).await?.ok_or(Error::NotFound("store"))?;
    store_from_row(db.keys()?, row)
}

pub async fn list(db: &Db) -> Result<Vec<Store>, Error> {
    stored::list(db).await?.into_iter().map(|row| store_from_row(db.keys()?, row)).collect()
}

/// What each sealed secret is for. With the store's id it is the context a
/// value is sealed to, so a value moved to another store or use does not open.
/// The previous webhook secret is the webhook secret moved aside.
fn purpose(column: SecretColumn) -> &'static str {
    match column {
        SecretColumn::Gateway => GATEWAY,
        SecretColumn::Webhook | SecretColumn::WebhookPrevious => WEBHOOK,
        SecretColumn::Notify => NOTIFY,
    }
}
const GATEWAY: &str = "gateway";
const WEBHOOK: &str = "webhook";
const NOTIFY: &str = "notify";

fn context(store: &StoreId, purpose: &str) -> String {
    format!("{store}/{purpose}")
}

fn seal(db: &Db, store: &StoreId, purpose: &str, secret: &Secret) -> Result<String, Error> {
    Ok(db.keys()?.seal(secret.expose(), &context(store, purpose))?)
}

/// Opens a store's notification secret that a query of its own read (the
/// notification worker reads it with the messages it leases).
pub fn open_notify_secret(db: &Db, store: &StoreId, sealed: &str) -> Result<Secret, Error> {
    Ok(db.keys()?.open(sealed, &context(store, NOTIFY))?)
}

/// Seals every stored secret under the current master key: those sealed under
/// an older key of the ring, and any written before secrets were sealed.
/// Returns how many it rewrote.
pub async fn reseal_secrets(db: &Db) -> Result<usize, Error> {
    let keys = db.keys()?;
    let mut resealed = 0;
    for (id, values) in stored::secrets(db).await? {
        let store = StoreId::parse(&id).map_err(|_| Error::Corrupt("stored store has an invalid id".into()))?;
        for (column, value) in values {
            if keys.is_current(&value) {
                continue;
            }
            let secret = match keys.open(&value, &context(&store, purpose(column))) {
                Err(KeyError::NotSealed) => Secret::new(value.clone()),
                opened => opened?,
            };
            // A secret changed meanwhile is left as it is.
            stored::replace_secret(db, &id, column, &value, seal(db, &store, purpose(column), &secret)?).await?;
            resealed += 1;
        }
    }
    Ok(resealed)
}

fn store_from_row(keys: &KeyRing, row: stored::Row) -> Result<Store, Error> {
    let corrupt = |what: &str| Error::Corrupt(format!("stored store has an invalid {what}"));
    let id = StoreId::parse(&row.id).map_err(|_| corrupt("id"))?;
    let open = |sealed: &str, purpose: &str| keys.open(sealed, &context(&id, purpose));
    let open_some = |sealed: Option<String>, purpose: &str| sealed.map(|s| open(&s, purpose)).transpose();
    let previous = match (open_some(row.webhook_secret_previous, WEBHOOK)?, row.webhook_secret_previous_until) {
        (Some(secret), Some(until)) => Some((secret, until)),
        _ => None,
    };
    let notify = match (row.notify_url, open_some(row.notify_secret, NOTIFY)?) {
        (Some(url), Some(secret)) => Some(NotifyEndpoint { url, secret }),
        _ => None,
    };
    Ok(Store {
        name: row.name,
        currency: Currency::parse(&row.currency).map_err(|_| corrupt("currency"))?,
        payment_methods: row.payment_methods.split_whitespace().filter_map(PaymentMethod::parse).collect(),
        allowed_origins: row.allowed_origins.split_whitespace().map(str::to_owned).collect(),
        gateway: GatewaySettings {
            style: GatewayStyle::parse(&row.gateway_style).ok_or_else(|| corrupt("gateway style"))?,
            api_base: row.gateway_api_base,
            public_key: row.gateway_public_key,
            secret_key: open(&row.gateway_secret_key, GATEWAY)?,
            location_id: row.gateway_location_id,
            card_fields: CardFields::parse(&row.card_fields).ok_or_else(|| corrupt("card fields setting"))?,
        },
        webhook: WebhookSettings {
            endpoint_id: row.webhook_endpoint_id,
            url: row.webhook_url,
            secret: open_some(row.webhook_secret, WEBHOOK)?,
            previous,
        },
        notify,
        id,
    })
}

/// An origin is a scheme, host and optional port, with no path:
/// `https://shop.example` or `http://localhost:8081`.
pub fn validate_origin(origin: &str) -> Result<(), Error> {
    let bad = || {
        Error::invalid(
            "invalid_origin",
            "allowed_origins",
            format!("`{origin}` is not an origin like https://shop.example"),
        )
    };
    let rest = origin.strip_prefix("https://").or_else(|| origin.strip_prefix("http://")).ok_or_else(bad)?;
    let valid_host = !rest.is_empty()
        && rest.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    if valid_host { Ok(()) } else { Err(bad()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_have_a_scheme_and_no_path() {
        assert!(validate_origin("https://shop.example").is_ok());
        assert!(validate_origin("http://localhost:8081").is_ok());
        assert!(validate_origin("shop.example").is_err());
        assert!(validate_origin("https://shop.example/").is_err());
        assert!(validate_origin("https://").is_err());
        assert!(validate_origin("https://a b").is_err());
    }
}
