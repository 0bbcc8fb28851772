//! Orders: priced by the server from its catalog, paid through a gateway, moved
//! between statuses only by [`transition`].

use paylet_api::{
    ClientSecret, CreateOrderRequest, Currency, Money, MoneyError, Order, OrderId, OrderLine, OrderStatus,
};
use paylet_secret::constant_time_eq;
use sqlx::Row;

use crate::catalog::{self, Sku};
use crate::customers::{self, Email};
use crate::db::{Db, Tx, now_millis};
use crate::order_state::{self, OrderEvent};
use crate::stores::Store;
use crate::{Error, ids};

/// Limits that keep one order to what a checkout can show.
const MAX_LINES: usize = 100;
const MAX_QUANTITY: u32 = 10_000;

/// Prices `request` from the store's catalog and stores the new order. The
/// response carries the client secret; it is not stored and never shown again.
pub async fn create(db: &Db, store: &Store, request: &CreateOrderRequest) -> Result<Order, Error> {
    if request.items.is_empty() {
        return Err(Error::invalid("no_items", "items", "An order needs at least one item."));
    }
    if request.items.len() > MAX_LINES {
        return Err(Error::invalid("too_many_items", "items", format!("An order has at most {MAX_LINES} items.")));
    }
    let email = Email::parse(&request.customer.email, "customer.email")?;
    let name = customers::parse_name(request.customer.name.as_deref(), "customer.name")?;

    let id = ids::new_order_id();
    let secret = ids::new_client_secret(&id);
    let now = now_millis();
    let mut tx = db.begin().await?;
    let lines = price_lines(&mut tx, store, request).await?;
    let total = lines
        .iter()
        .try_fold(Money::zero(store.currency), |sum, line| sum.checked_add(line.total))
        .map_err(|_| too_large("items"))?;

    sqlx::query(
        "INSERT INTO orders (id, store_id, status, currency, total_amount, client_secret_hash, customer_email, \
         customer_name, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
    )
    .bind(id.as_str())
    .bind(store.id.as_str())
    .bind(OrderStatus::Pending.as_str())
    .bind(total.currency().code())
    .bind(total.amount())
    .bind(ids::sha256_hex(secret.expose()))
    .bind(email.as_str())
    .bind(name)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    for (line_no, line) in lines.iter().enumerate() {
        sqlx::query(
            "INSERT INTO order_lines (order_id, store_id, line_no, sku, name, quantity, unit_amount, total_amount) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(id.as_str())
        .bind(store.id.as_str())
        .bind(i64::try_from(line_no).unwrap_or(i64::MAX))
        .bind(&line.sku)
        .bind(&line.name)
        .bind(i64::from(line.quantity))
        .bind(line.unit_price.amount())
        .bind(line.total.amount())
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(Order { id, status: OrderStatus::Pending, lines, total, client_secret: Some(secret) })
}

async fn price_lines(tx: &mut Tx, store: &Store, request: &CreateOrderRequest) -> Result<Vec<OrderLine>, Error> {
    let mut lines = Vec::with_capacity(request.items.len());
    for (i, item) in request.items.iter().enumerate() {
        let sku_field = format!("items[{i}].sku");
        let sku = Sku::parse(&item.sku).ok_or_else(|| {
            Error::invalid("invalid_sku", sku_field.clone(), "A SKU has 1 to 64 letters, digits, `-`, `_` or `.`.")
        })?;
        if item.quantity == 0 || item.quantity > MAX_QUANTITY {
            return Err(Error::invalid(
                "invalid_quantity",
                format!("items[{i}].quantity"),
                format!("Quantity must be between 1 and {MAX_QUANTITY}."),
            ));
        }
        let product = catalog::find_in(tx, &store.id, &sku).await?.ok_or_else(|| {
            Error::invalid("unknown_sku", sku_field.clone(), format!("No product with SKU `{}`.", sku.as_str()))
        })?;
        if !product.active {
            return Err(Error::invalid("inactive_product", sku_field, format!("`{}` is not for sale.", sku.as_str())));
        }
        if product.price.currency() != store.currency {
            return Err(Error::Config(format!("product {} is not priced in the store's currency", sku.as_str())));
        }
        let total = product.price.checked_mul(item.quantity).map_err(|_| too_large(&format!("items[{i}].quantity")))?;
        lines.push(OrderLine {
            sku: product.sku.as_str().to_owned(),
            name: product.name,
            quantity: item.quantity,
            unit_price: product.price,
            total,
        });
    }
    Ok(lines)
}

fn too_large(field: &str) -> Error {
    Error::invalid("amount_too_large", field, "The order total is too large.")
}

/// The parts of an order that payments need.
#[derive(Debug, Clone)]
pub struct OrderSummary {
    pub id: OrderId,
    pub store_id: paylet_api::StoreId,
    pub status: OrderStatus,
    pub total: Money,
}

/// The order, if `secret` is its client secret. A wrong secret and a missing
/// order look the same to the caller, so ids cannot be probed.
pub async fn find_for_client(db: &Db, id: &OrderId, secret: &ClientSecret) -> Result<OrderSummary, Error> {
    let row =
        sqlx::query("SELECT store_id, status, currency, total_amount, client_secret_hash FROM orders WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(db.reader())
            .await?
            .ok_or(Error::NotFound("order"))?;
    let stored_hash: String = row.try_get("client_secret_hash")?;
    if !constant_time_eq(stored_hash.as_bytes(), ids::sha256_hex(secret.expose()).as_bytes()) {
        return Err(Error::NotFound("order"));
    }
    summary_from_row(id, &row)
}

fn summary_from_row(id: &OrderId, row: &sqlx::any::AnyRow) -> Result<OrderSummary, Error> {
    let corrupt = |what: &str| Error::Config(format!("stored order {id} has an invalid {what}"));
    let store: String = row.try_get("store_id")?;
    let status: String = row.try_get("status")?;
    let currency: String = row.try_get("currency")?;
    let currency = Currency::parse(&currency).map_err(|_: MoneyError| corrupt("currency"))?;
    Ok(OrderSummary {
        id: id.clone(),
        store_id: paylet_api::StoreId::parse(&store).map_err(|_| corrupt("store"))?,
        status: OrderStatus::parse(&status).ok_or_else(|| corrupt("status"))?,
        total: Money::new(row.try_get("total_amount")?, currency).map_err(|_| corrupt("total"))?,
    })
}

/// The full order for the widget.
pub async fn load(db: &Db, summary: &OrderSummary) -> Result<Order, Error> {
    let rows = sqlx::query(
        "SELECT sku, name, quantity, unit_amount, total_amount FROM order_lines \
         WHERE order_id = $1 AND store_id = $2 ORDER BY line_no",
    )
    .bind(summary.id.as_str())
    .bind(summary.store_id.as_str())
    .fetch_all(db.reader())
    .await?;
    let currency = summary.total.currency();
    let money = |amount: i64| Money::new(amount, currency).map_err(|_| Error::Config("negative stored amount".into()));
    let lines = rows
        .iter()
        .map(|row| {
            let quantity: i64 = row.try_get("quantity")?;
            Ok(OrderLine {
                sku: row.try_get("sku")?,
                name: row.try_get("name")?,
                quantity: u32::try_from(quantity).map_err(|_| Error::Config("stored quantity out of range".into()))?,
                unit_price: money(row.try_get("unit_amount")?)?,
                total: money(row.try_get("total_amount")?)?,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(Order { id: summary.id.clone(), status: summary.status, lines, total: summary.total, client_secret: None })
}

/// Reads the order's status inside a write transaction, locking the row where
/// the engine has row locks.
pub async fn status_in(db: &Db, tx: &mut Tx, id: &OrderId) -> Result<OrderStatus, Error> {
    let sql = format!("SELECT status FROM orders WHERE id = $1{}", db.for_update());
    let status: String = sqlx::query(&sql)
        .bind(id.as_str())
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(Error::NotFound("order"))?
        .try_get("status")?;
    OrderStatus::parse(&status).ok_or_else(|| Error::Config(format!("stored order {id} has an invalid status")))
}

/// Applies `event` to the order inside `tx`. Returns the new status, or the
/// unchanged one when the state machine ignores the event.
pub async fn transition(db: &Db, tx: &mut Tx, id: &OrderId, event: OrderEvent) -> Result<OrderStatus, Error> {
    let from = status_in(db, tx, id).await?;
    let Some(to) = order_state::next(from, event) else {
        tracing::info!(order = %id, ?from, ?event, "order event ignored by the state machine");
        return Ok(from);
    };
    sqlx::query("UPDATE orders SET status = $1, updated_at = $2 WHERE id = $3")
        .bind(to.as_str())
        .bind(now_millis())
        .bind(id.as_str())
        .execute(&mut **tx)
        .await?;
    tracing::info!(order = %id, from = from.as_str(), to = to.as_str(), "order status changed");
    Ok(to)
}
