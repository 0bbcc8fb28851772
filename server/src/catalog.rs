//! Products: the only source of prices.

use paylet_api::{CatalogItem, Money, StoreId};

use crate::Error;
use crate::db::{Db, now_millis, products};

/// A merchant's stock-keeping unit: 1 to 64 letters, digits, `-`, `_` or `.`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Sku(String);

impl Sku {
    /// The SKU from a request field, or a 422 naming it.
    pub fn parse_field(s: &str, field: impl Into<String>) -> Result<Sku, Error> {
        Sku::parse(s)
            .ok_or_else(|| Error::invalid("invalid_sku", field, "A SKU has 1 to 64 letters, digits, `-`, `_` or `.`."))
    }

    pub fn parse(s: &str) -> Option<Sku> {
        let ok = (1..=64).contains(&s.len())
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        ok.then(|| Sku(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Product {
    pub sku: Sku,
    pub name: String,
    pub price: Money,
    pub active: bool,
}

impl Product {
    pub fn to_catalog_item(&self) -> CatalogItem {
        CatalogItem { sku: self.sku.as_str().to_owned(), name: self.name.clone(), price: self.price }
    }
}

/// Creates the product or replaces its name, price and state.
pub async fn upsert(db: &Db, store: &StoreId, product: &Product) -> Result<(), Error> {
    let name = checked_name(&product.name)?;
    products::upsert(db, store, product, name, now_millis()).await
}

/// Products for sale, for the widget's catalog.
pub async fn list_active(db: &Db, store: &StoreId) -> Result<Vec<Product>, Error> {
    products::list(db, store, true).await
}

/// Every product, for sale or not, for the merchant.
pub async fn list_all(db: &Db, store: &StoreId) -> Result<Vec<Product>, Error> {
    products::list(db, store, false).await
}

pub async fn get(db: &Db, store: &StoreId, sku: &Sku) -> Result<Product, Error> {
    products::get(db, store, sku).await?.ok_or(Error::NotFound("product"))
}

/// Adds a product; refuses a SKU the store already has.
pub async fn add(db: &Db, store: &StoreId, currency: paylet_api::Currency, product: &Product) -> Result<(), Error> {
    if product.price.currency() != currency {
        return Err(Error::invalid(
            "currency_mismatch",
            "price.currency",
            format!("Prices in this store are in {currency}."),
        ));
    }
    let name = checked_name(&product.name)?;
    if !products::insert(db, store, product, name, now_millis()).await? {
        return Err(Error::Conflict {
            code: "product_exists",
            message: format!("A product with SKU `{}` exists.", product.sku.as_str()),
        });
    }
    Ok(())
}

/// Removes a product. Orders keep their own copy of each line's name and price.
pub async fn delete(db: &Db, store: &StoreId, sku: &Sku) -> Result<(), Error> {
    if products::delete(db, store, sku).await? { Ok(()) } else { Err(Error::NotFound("product")) }
}

/// The store's products with these SKUs, active or not, in one query (pricing an order).
pub async fn find_many(db: &Db, store: &StoreId, skus: &[&Sku]) -> Result<Vec<Product>, Error> {
    products::find_many(db, store, skus).await
}

fn checked_name(name: &str) -> Result<&str, Error> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(Error::invalid("invalid_name", "name", "A product name has 1 to 200 characters."));
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skus_are_short_and_plain() {
        assert!(Sku::parse("TEE-BLK_M.2").is_some());
        assert!(Sku::parse("").is_none());
        assert!(Sku::parse("a b").is_none());
        assert!(Sku::parse(&"x".repeat(65)).is_none());
    }
}
