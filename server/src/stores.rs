//! Stores: a merchant's settings, gateway credentials and allowed origins.

use std::sync::Arc;

use paylet_api::{Currency, GatewayStyle, PaymentMethod, PublicGatewayConfig, StoreId};
use paylet_gateway::Gateway;
use paylet_gateway::stripe::StripeGateway;
use paylet_secret::Secret;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::db::{Db, now_millis};
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
}

impl GatewaySettings {
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
        }
    }

    /// The adapter for this store's gateway.
    pub fn client(&self, http: &reqwest::Client) -> Result<Arc<dyn Gateway>, Error> {
        match self.style {
            GatewayStyle::Stripe => {
                Ok(Arc::new(StripeGateway::new(http.clone(), &self.api_base, self.secret_key.clone())))
            }
            GatewayStyle::Square => Err(Error::Config("Square-style gateways are not supported yet".into())),
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewStore {
    /// A fixed id (the demo store's); otherwise one is generated.
    pub id: Option<StoreId>,
    pub name: String,
    pub currency: Currency,
    pub payment_methods: Vec<PaymentMethod>,
    pub allowed_origins: Vec<String>,
    pub gateway: GatewaySettings,
}

/// Creates the store, or replaces the settings of the store with `new.id`.
pub async fn put(db: &Db, new: NewStore) -> Result<Store, Error> {
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(Error::invalid("invalid_name", "name", "A store name has 1 to 100 characters."));
    }
    for origin in &new.allowed_origins {
        validate_origin(origin)?;
    }
    if new.payment_methods.is_empty() {
        return Err(Error::invalid("no_payment_methods", "payment_methods", "Enable at least one payment method."));
    }
    let store = Store {
        id: new.id.unwrap_or_else(ids::new_store_id),
        name: name.to_owned(),
        currency: new.currency,
        payment_methods: new.payment_methods,
        allowed_origins: new.allowed_origins,
        gateway: new.gateway,
    };
    let mut tx = db.begin().await?;
    sqlx::query(
        "INSERT INTO stores (id, name, currency, allowed_origins, gateway_style, gateway_api_base, \
         gateway_public_key, gateway_secret_key, created_at, payment_methods) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, currency = excluded.currency, \
         payment_methods = excluded.payment_methods, \
         allowed_origins = excluded.allowed_origins, gateway_style = excluded.gateway_style, \
         gateway_api_base = excluded.gateway_api_base, gateway_public_key = excluded.gateway_public_key, \
         gateway_secret_key = excluded.gateway_secret_key",
    )
    .bind(store.id.as_str())
    .bind(&store.name)
    .bind(store.currency.code())
    .bind(store.allowed_origins.join(" "))
    .bind(store.gateway.style.as_str())
    .bind(&store.gateway.api_base)
    .bind(&store.gateway.public_key)
    .bind(store.gateway.secret_key.expose())
    .bind(now_millis())
    .bind(store.payment_methods.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(" "))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(store)
}

const COLUMNS: &str = "id, name, currency, payment_methods, allowed_origins, gateway_style, gateway_api_base, \
                       gateway_public_key, gateway_secret_key";

pub async fn find(db: &Db, id: &StoreId) -> Result<Store, Error> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM stores WHERE id = $1"))
        .bind(id.as_str())
        .fetch_optional(db.reader())
        .await?
        .ok_or(Error::NotFound("store"))?;
    store_from_row(&row)
}

pub async fn list(db: &Db) -> Result<Vec<Store>, Error> {
    let rows =
        sqlx::query(&format!("SELECT {COLUMNS} FROM stores ORDER BY created_at, id")).fetch_all(db.reader()).await?;
    rows.iter().map(store_from_row).collect()
}

fn store_from_row(row: &AnyRow) -> Result<Store, Error> {
    let corrupt = |what: &str| Error::Config(format!("stored store has an invalid {what}"));
    let id: String = row.try_get("id")?;
    let currency: String = row.try_get("currency")?;
    let origins: String = row.try_get("allowed_origins")?;
    let style: String = row.try_get("gateway_style")?;
    let secret: String = row.try_get("gateway_secret_key")?;
    let methods: String = row.try_get("payment_methods")?;
    Ok(Store {
        id: StoreId::parse(&id).map_err(|_| corrupt("id"))?,
        name: row.try_get("name")?,
        currency: Currency::parse(&currency).map_err(|_| corrupt("currency"))?,
        payment_methods: methods.split_whitespace().filter_map(PaymentMethod::parse).collect(),
        allowed_origins: origins.split_whitespace().map(str::to_owned).collect(),
        gateway: GatewaySettings {
            style: GatewayStyle::parse(&style).ok_or_else(|| corrupt("gateway style"))?,
            api_base: row.try_get("gateway_api_base")?,
            public_key: row.try_get("gateway_public_key")?,
            secret_key: Secret::new(secret),
        },
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
