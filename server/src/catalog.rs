//! Products: the only source of prices.

use paylet_api::{CatalogItem, Currency, Money, StoreId};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::Error;
use crate::db::{Db, now_millis};

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
    let now = now_millis();
    let mut tx = db.begin().await?;
    sqlx::query(
        "INSERT INTO products (store_id, sku, name, unit_amount, currency, active, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
         ON CONFLICT (store_id, sku) DO UPDATE SET name = excluded.name, unit_amount = excluded.unit_amount, \
         currency = excluded.currency, active = excluded.active, updated_at = excluded.updated_at",
    )
    .bind(store.as_str())
    .bind(product.sku.as_str())
    .bind(name)
    .bind(product.price.amount())
    .bind(product.price.currency().code())
    .bind(i64::from(product.active))
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Products for sale, for the widget's catalog.
pub async fn list_active(db: &Db, store: &StoreId) -> Result<Vec<Product>, Error> {
    list(db, store, true).await
}

/// Every product, for sale or not, for the merchant.
pub async fn list_all(db: &Db, store: &StoreId) -> Result<Vec<Product>, Error> {
    list(db, store, false).await
}

async fn list(db: &Db, store: &StoreId, active_only: bool) -> Result<Vec<Product>, Error> {
    let rows = sqlx::query(
        "SELECT sku, name, unit_amount, currency, active FROM products \
         WHERE store_id = $1 AND (active = 1 OR $2 = 0) ORDER BY sku",
    )
    .bind(store.as_str())
    .bind(i64::from(active_only))
    .fetch_all(db.reader())
    .await?;
    rows.iter().map(product_from_row).collect()
}

pub async fn get(db: &Db, store: &StoreId, sku: &Sku) -> Result<Product, Error> {
    let row =
        sqlx::query("SELECT sku, name, unit_amount, currency, active FROM products WHERE store_id = $1 AND sku = $2")
            .bind(store.as_str())
            .bind(sku.as_str())
            .fetch_optional(db.reader())
            .await?
            .ok_or(Error::NotFound("product"))?;
    product_from_row(&row)
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
    let now = now_millis();
    let inserted = sqlx::query(
        "INSERT INTO products (store_id, sku, name, unit_amount, currency, active, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT (store_id, sku) DO NOTHING",
    )
    .bind(store.as_str())
    .bind(product.sku.as_str())
    .bind(name)
    .bind(product.price.amount())
    .bind(product.price.currency().code())
    .bind(i64::from(product.active))
    .bind(now)
    .execute(db.writer())
    .await?
    .rows_affected();
    if inserted == 0 {
        return Err(Error::Conflict {
            code: "product_exists",
            message: format!("A product with SKU `{}` exists.", product.sku.as_str()),
        });
    }
    Ok(())
}

/// Removes a product. Orders keep their own copy of each line's name and price.
pub async fn delete(db: &Db, store: &StoreId, sku: &Sku) -> Result<(), Error> {
    let deleted = sqlx::query("DELETE FROM products WHERE store_id = $1 AND sku = $2")
        .bind(store.as_str())
        .bind(sku.as_str())
        .execute(db.writer())
        .await?
        .rows_affected();
    if deleted == 0 { Err(Error::NotFound("product")) } else { Ok(()) }
}

/// The store's products with these SKUs, active or not, in one query (pricing an order).
pub async fn find_many(db: &Db, store: &StoreId, skus: &[&Sku]) -> Result<Vec<Product>, Error> {
    let placeholders: Vec<String> = (0..skus.len()).map(|i| format!("${}", i + 2)).collect();
    let sql = format!(
        "SELECT sku, name, unit_amount, currency, active FROM products WHERE store_id = $1 AND sku IN ({})",
        placeholders.join(", ")
    );
    let mut query = sqlx::query(&sql).bind(store.as_str());
    for sku in skus {
        query = query.bind(sku.as_str());
    }
    query.fetch_all(db.reader()).await?.iter().map(product_from_row).collect()
}

fn checked_name(name: &str) -> Result<&str, Error> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(Error::invalid("invalid_name", "name", "A product name has 1 to 200 characters."));
    }
    Ok(name)
}

fn product_from_row(row: &AnyRow) -> Result<Product, Error> {
    let corrupt = |what: &str| Error::Corrupt(format!("stored product has an invalid {what}"));
    let sku: String = row.try_get("sku")?;
    let currency: String = row.try_get("currency")?;
    let currency = Currency::parse(&currency).map_err(|_| corrupt("currency"))?;
    let active: i64 = row.try_get("active")?;
    Ok(Product {
        sku: Sku::parse(&sku).ok_or_else(|| corrupt("sku"))?,
        name: row.try_get("name")?,
        price: Money::new(row.try_get("unit_amount")?, currency).map_err(|_| corrupt("price"))?,
        active: active != 0,
    })
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
