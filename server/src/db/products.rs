//! The `products` table: each store's catalog.

use paylet_api::{Currency, Money, StoreId};

use super::{Arg, Db};
use crate::Error;
use crate::catalog::{Product, Sku};

const COLUMNS: &str = "sku, name, unit_amount, currency, active";

#[derive(sqlx::FromRow)]
struct Row {
    sku: String,
    name: String,
    unit_amount: i64,
    currency: String,
    active: i64,
}

impl TryFrom<Row> for Product {
    type Error = Error;

    fn try_from(row: Row) -> Result<Product, Error> {
        let corrupt = |what: &str| Error::Corrupt(format!("stored product has an invalid {what}"));
        let currency = Currency::parse(&row.currency).map_err(|_| corrupt("currency"))?;
        Ok(Product {
            sku: Sku::parse(&row.sku).ok_or_else(|| corrupt("sku"))?,
            name: row.name,
            price: Money::new(row.unit_amount, currency).map_err(|_| corrupt("price"))?,
            active: row.active != 0,
        })
    }
}

/// The columns every write sets, in `$1…$7` order; `$7` is the time.
fn values(store: &StoreId, product: &Product, name: &str, now: i64) -> Vec<Arg> {
    vec![
        Arg::Text(store.as_str().to_owned()),
        Arg::Text(product.sku.as_str().to_owned()),
        Arg::Text(name.to_owned()),
        Arg::Int(product.price.amount()),
        Arg::Text(product.price.currency().code().to_owned()),
        Arg::Int(i64::from(product.active)),
        Arg::Int(now),
    ]
}

/// The insert both writes start with (a macro, so `concat!` can extend it).
macro_rules! insert {
    () => {
        "INSERT INTO products (store_id, sku, name, unit_amount, currency, active, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)"
    };
}

/// Creates the product or replaces its name, price and state.
pub async fn upsert(db: &Db, store: &StoreId, product: &Product, name: &str, now: i64) -> Result<(), Error> {
    const SQL: &str = concat!(
        insert!(),
        " ON CONFLICT (store_id, sku) DO UPDATE SET name = excluded.name, unit_amount = excluded.unit_amount, \
         currency = excluded.currency, active = excluded.active, updated_at = excluded.updated_at"
    );
    db.execute(SQL, values(store, product, name, now)).await
}

/// Adds the product unless the store has its SKU; whether it did.
pub async fn insert(db: &Db, store: &StoreId, product: &Product, name: &str, now: i64) -> Result<bool, Error> {
    const SQL: &str = concat!(insert!(), " ON CONFLICT (store_id, sku) DO NOTHING");
    Ok(db.changed(SQL, values(store, product, name, now)).await? > 0)
}

/// Whether there was such a product to delete.
pub async fn delete(db: &Db, store: &StoreId, sku: &Sku) -> Result<bool, Error> {
    let args = vec![Arg::Text(store.as_str().to_owned()), Arg::Text(sku.as_str().to_owned())];
    Ok(db.changed("DELETE FROM products WHERE store_id = $1 AND sku = $2", args).await? > 0)
}

/// The store's products by SKU, all or only those for sale.
pub async fn list(db: &Db, store: &StoreId, active_only: bool) -> Result<Vec<Product>, Error> {
    let sql = format!("SELECT {COLUMNS} FROM products WHERE store_id = $1 AND (active = 1 OR $2 = 0) ORDER BY sku");
    let rows: Vec<Row> =
        sqlx::query_as(&sql).bind(store.as_str()).bind(i64::from(active_only)).fetch_all(db.reader()).await?;
    rows.into_iter().map(Product::try_from).collect()
}

pub async fn get(db: &Db, store: &StoreId, sku: &Sku) -> Result<Option<Product>, Error> {
    let sql = format!("SELECT {COLUMNS} FROM products WHERE store_id = $1 AND sku = $2");
    let row: Option<Row> =
        sqlx::query_as(&sql).bind(store.as_str()).bind(sku.as_str()).fetch_optional(db.reader()).await?;
    row.map(Product::try_from).transpose()
}

/// The store's products with these SKUs, active or not, in one query.
pub async fn find_many(db: &Db, store: &StoreId, skus: &[&Sku]) -> Result<Vec<Product>, Error> {
    let placeholders: Vec<String> = (0..skus.len()).map(|i| format!("${}", i + 2)).collect();
    let sql = format!("SELECT {COLUMNS} FROM products WHERE store_id = $1 AND sku IN ({})", placeholders.join(", "));
    let mut query = sqlx::query_as(&sql).bind(store.as_str());
    for sku in skus {
        query = query.bind(sku.as_str());
    }
    let rows: Vec<Row> = query.fetch_all(db.reader()).await?;
    rows.into_iter().map(Product::try_from).collect()
}
