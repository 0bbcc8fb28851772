//! Checkout sessions: carts a merchant's backend prices itself (with its secret
//! admin key) and hands to the embed as `data-session="cs_…"`. The unguessable
//! id is the widget's capability to show the cart and turn it into an order;
//! once an order from it is paid, the session is complete.

use paylet_api::{CheckoutSessionView, Currency, Money, OrderLine, StoreId};
use serde::{Deserialize, Serialize};

use crate::db::{Db, checkout_sessions, now_millis};
use crate::{Error, ids};

/// A line the merchant priced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionLine {
    pub name: String,
    #[serde(default)]
    pub sku: Option<String>,
    pub quantity: u32,
    /// In minor units of the session's currency.
    pub unit_amount: i64,
}

#[derive(Debug, Clone)]
pub struct Session {
    pub id: String,
    pub store_id: StoreId,
    pub lines: Vec<OrderLine>,
    pub total: Money,
    pub customer_email: Option<String>,
    pub metadata: serde_json::Map<String, serde_json::Value>,
    pub status: String,
    pub expires_at: i64,
    pub created_at: i64,
}

impl Session {
    pub fn view(&self) -> CheckoutSessionView {
        CheckoutSessionView {
            id: self.id.clone(),
            store_id: self.store_id.clone(),
            lines: self.lines.clone(),
            total: self.total,
            status: self.effective_status().to_owned(),
        }
    }

    /// `expired` once past its expiry, whatever is stored.
    pub fn effective_status(&self) -> &str {
        if self.status == "open" && self.expires_at <= now_millis() { "expired" } else { &self.status }
    }
}

pub struct NewSession {
    pub lines: Vec<SessionLine>,
    pub customer_email: Option<String>,
    pub metadata: serde_json::Map<String, serde_json::Value>,
    pub expires_in_minutes: Option<i64>,
}

pub async fn create(db: &Db, store: &StoreId, currency: Currency, new: NewSession) -> Result<Session, Error> {
    if new.lines.is_empty() || new.lines.len() > 100 {
        return Err(Error::invalid("invalid_line_items", "line_items", "A session has 1 to 100 line items."));
    }
    let mut lines = Vec::with_capacity(new.lines.len());
    let mut total = Money::zero(currency);
    for (i, l) in new.lines.iter().enumerate() {
        let field = |f: &str| format!("line_items[{i}].{f}");
        let name = l.name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(Error::invalid("invalid_name", field("name"), "A line name has 1 to 200 characters."));
        }
        if l.quantity == 0 || l.quantity > 10_000 {
            return Err(Error::invalid("invalid_quantity", field("quantity"), "Quantity must be between 1 and 10000."));
        }
        let unit = Money::new(l.unit_amount, currency)
            .map_err(|_| Error::invalid("invalid_amount", field("unit_amount"), "Amounts cannot be negative."))?;
        let line_total = unit
            .checked_mul(l.quantity)
            .map_err(|_| Error::invalid("amount_too_large", field("quantity"), "The total is too large."))?;
        total = total
            .checked_add(line_total)
            .map_err(|_| Error::invalid("amount_too_large", "line_items", "The total is too large."))?;
        lines.push(OrderLine {
            sku: l.sku.clone().unwrap_or_default(),
            name: name.to_owned(),
            quantity: l.quantity,
            unit_price: unit,
            total: line_total,
        });
    }
    let minutes = new.expires_in_minutes.unwrap_or(24 * 60);
    if !(30..=24 * 60).contains(&minutes) {
        return Err(Error::invalid("invalid_expiry", "expires_in_minutes", "A session lasts 30 to 1440 minutes."));
    }
    let now = now_millis();
    let session = Session {
        id: format!("cs_{}", ids::random_string(32)),
        store_id: store.clone(),
        lines,
        total,
        customer_email: new.customer_email,
        metadata: new.metadata,
        status: "open".into(),
        expires_at: now + minutes * 60_000,
        created_at: now,
    };
    checkout_sessions::insert(db, &session).await?;
    Ok(session)
}

/// The session, by its id alone (the id is the capability).
pub async fn find(db: &Db, id: &str) -> Result<Session, Error> {
    checkout_sessions::find(db, id).await?.ok_or(Error::NotFound("checkout session"))
}
