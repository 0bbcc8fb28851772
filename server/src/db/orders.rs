//! The `orders` table, with its `order_lines` and `order_history`.

use paylet_api::{Address, Currency, Money, OrderId, OrderLine, OrderStatus, StoreId};
use sqlx::AnyConnection;

use super::{Arg, Backend, Batch, Db, bind, rfc3339};
use crate::orders::{AdminOrder, CustomerDetail, HistoryEntry, OrderDetail, OrderSummary, PaymentDetail, RefundDetail};
use crate::{Error, ids};

/// The columns of an [`OrderSummary`].
#[derive(sqlx::FromRow)]
struct Summary {
    store_id: String,
    status: String,
    currency: String,
    total_amount: i64,
}

impl Summary {
    fn of(self, id: &OrderId) -> Result<OrderSummary, Error> {
        let corrupt = |what: &str| Error::Corrupt(format!("stored order {id} has an invalid {what}"));
        let currency = Currency::parse(&self.currency).map_err(|_| corrupt("currency"))?;
        Ok(OrderSummary {
            id: id.clone(),
            store_id: StoreId::parse(&self.store_id).map_err(|_| corrupt("store"))?,
            status: OrderStatus::parse(&self.status).ok_or_else(|| corrupt("status"))?,
            total: Money::new(self.total_amount, currency).map_err(|_| corrupt("total"))?,
        })
    }
}

/// A new order, as it is stored.
pub struct New<'a> {
    pub id: &'a OrderId,
    pub store: &'a StoreId,
    pub total: Money,
    pub client_secret_hash: String,
    pub email: &'a str,
    pub name: Option<String>,
    pub billing_address: Option<String>,
    pub shipping_address: Option<String>,
    pub checkout_session: Option<String>,
    pub lines: &'a [OrderLine],
    pub now: i64,
}

/// Adds writing the new order and its lines to `batch`, `pending`, for the
/// customer with its email (whose row `batch` has by then).
pub fn add_new(batch: &mut Batch, new: New<'_>) {
    batch.add(
        "INSERT INTO orders (id, store_id, status, currency, total_amount, client_secret_hash, customer_email, \
         customer_name, customer_id, billing_address, shipping_address, checkout_session_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, (SELECT id FROM customers WHERE store_id = $2 AND email = $7), \
         $9, $10, $11, $12, $12)",
        vec![
            Arg::Text(new.id.to_string()),
            Arg::Text(new.store.to_string()),
            Arg::Text(OrderStatus::Pending.as_str().into()),
            Arg::Text(new.total.currency().code().into()),
            Arg::Int(new.total.amount()),
            Arg::Text(new.client_secret_hash),
            Arg::Text(new.email.into()),
            Arg::OptText(new.name),
            Arg::OptText(new.billing_address),
            Arg::OptText(new.shipping_address),
            Arg::OptText(new.checkout_session),
            Arg::Int(new.now),
        ],
    );
    add_lines(batch, new.id, new.store, new.lines);
}

/// All lines in one statement.
fn add_lines(batch: &mut Batch, order: &OrderId, store: &StoreId, lines: &[OrderLine]) {
    let values: Vec<String> = (0..lines.len())
        .map(|i| {
            let b = i * 8;
            format!("(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})", b + 1, b + 2, b + 3, b + 4, b + 5, b + 6, b + 7, b + 8)
        })
        .collect();
    let args = lines
        .iter()
        .enumerate()
        .flat_map(|(line_no, line)| {
            [
                Arg::Text(order.to_string()),
                Arg::Text(store.to_string()),
                Arg::Int(i64::try_from(line_no).unwrap_or(i64::MAX)),
                Arg::Text(line.sku.clone()),
                Arg::Text(line.name.clone()),
                Arg::Int(i64::from(line.quantity)),
                Arg::Int(line.unit_price.amount()),
                Arg::Int(line.total.amount()),
            ]
        })
        .collect();
    batch.add(
        format!(
            "INSERT INTO order_lines (order_id, store_id, line_no, sku, name, quantity, unit_amount, total_amount) VALUES {}",
            values.join(", ")
        ),
        args,
    );
}

const HISTORY_SQL: &str =
    "INSERT INTO order_history (id, order_id, store_id, at, kind, detail) VALUES ($1, $2, $3, $4, $5, $6)";

fn history_args(order: &OrderId, store: &StoreId, at: i64, kind: &str, detail: &str) -> Vec<Arg> {
    vec![
        Arg::Text(format!("oh_{}", ids::time_ordered(20))),
        Arg::Text(order.to_string()),
        Arg::Text(store.to_string()),
        Arg::Int(at),
        Arg::Text(kind.to_owned()),
        Arg::Text(detail.to_owned()),
    ]
}

/// Adds an entry of the order's history to `batch`.
pub fn add_history(batch: &mut Batch, order: &OrderId, store: &StoreId, at: i64, kind: &str, detail: &str) {
    batch.add(HISTORY_SQL, history_args(order, store, at, kind, detail));
}

/// Adds an entry to the order's history, in the transaction on `conn`.
pub async fn history(
    conn: &mut AnyConnection,
    (order, store): (&OrderId, &StoreId),
    at: i64,
    kind: &str,
    detail: &str,
) -> Result<(), Error> {
    let args = history_args(order, store, at, kind, detail);
    bind(sqlx::query(HISTORY_SQL), &args).execute(conn).await?;
    Ok(())
}

/// An order with the SHA-256 of its client secret, to compare before the
/// order is read further: a wrong secret must not learn even that the order
/// is damaged.
#[derive(sqlx::FromRow)]
pub struct WithSecretHash {
    pub client_secret_hash: String,
    #[sqlx(flatten)]
    summary: Summary,
}

impl WithSecretHash {
    pub fn summary(self, id: &OrderId) -> Result<OrderSummary, Error> {
        self.summary.of(id)
    }
}

pub async fn with_secret_hash(db: &Db, id: &OrderId) -> Result<Option<WithSecretHash>, Error> {
    Ok(sqlx::query_as("SELECT store_id, status, currency, total_amount, client_secret_hash FROM orders WHERE id = $1")
        .bind(id.as_str())
        .fetch_optional(db.reader())
        .await?)
}

const SUMMARY_SQL: &str = "SELECT store_id, status, currency, total_amount FROM orders WHERE id = $1";

pub async fn summary(db: &Db, id: &OrderId) -> Result<Option<OrderSummary>, Error> {
    let row: Option<Summary> = sqlx::query_as(SUMMARY_SQL).bind(id.as_str()).fetch_optional(db.reader()).await?;
    row.map(|r| r.of(id)).transpose()
}

/// The order, in the transaction on `conn`.
pub async fn summary_in(conn: &mut AnyConnection, id: &OrderId) -> Result<Option<OrderSummary>, Error> {
    let row: Option<Summary> = sqlx::query_as(SUMMARY_SQL).bind(id.as_str()).fetch_optional(conn).await?;
    row.map(|r| r.of(id)).transpose()
}

pub async fn customer_email(db: &Db, id: &OrderId) -> Result<Option<String>, Error> {
    Ok(sqlx::query_scalar("SELECT customer_email FROM orders WHERE id = $1")
        .bind(id.as_str())
        .fetch_optional(db.reader())
        .await?)
}

/// Whether the order is the store's.
pub async fn is_of_store(conn: &mut AnyConnection, store: &StoreId, id: &OrderId) -> Result<bool, Error> {
    let found = sqlx::query("SELECT 1 AS found FROM orders WHERE id = $1 AND store_id = $2")
        .bind(id.as_str())
        .bind(store.as_str())
        .fetch_optional(conn)
        .await?;
    Ok(found.is_some())
}

#[derive(sqlx::FromRow)]
struct Line {
    sku: String,
    name: String,
    quantity: i64,
    unit_amount: i64,
    total_amount: i64,
}

/// The order's lines, in order.
pub async fn lines(
    conn: &mut AnyConnection,
    order: &OrderId,
    store: &StoreId,
    currency: Currency,
) -> Result<Vec<OrderLine>, Error> {
    let rows: Vec<Line> = sqlx::query_as(
        "SELECT sku, name, quantity, unit_amount, total_amount FROM order_lines \
         WHERE order_id = $1 AND store_id = $2 ORDER BY line_no",
    )
    .bind(order.as_str())
    .bind(store.as_str())
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|row| {
            Ok(OrderLine {
                sku: row.sku,
                name: row.name,
                quantity: u32::try_from(row.quantity)
                    .map_err(|_| Error::Corrupt("stored quantity out of range".into()))?,
                unit_price: money(row.unit_amount, currency)?,
                total: money(row.total_amount, currency)?,
            })
        })
        .collect()
}

fn money(amount: i64, currency: Currency) -> Result<Money, Error> {
    Money::new(amount, currency).map_err(|_| Error::Corrupt("negative stored amount".into()))
}

/// The order's status, locking its row for the rest of the transaction on
/// `conn` where the engine has row locks.
pub async fn lock_status(conn: &mut AnyConnection, id: &OrderId) -> Result<Option<OrderStatus>, Error> {
    let sql = format!("SELECT status FROM orders WHERE id = $1{}", Backend::of(conn).for_update());
    let status: Option<String> = sqlx::query_scalar(&sql).bind(id.as_str()).fetch_optional(conn).await?;
    status
        .map(|s| {
            OrderStatus::parse(&s).ok_or_else(|| Error::Corrupt(format!("stored order {id} has an invalid status")))
        })
        .transpose()
}

/// Moves the order to `to`; the order as it is now, and the checkout session it came from.
pub async fn set_status(
    conn: &mut AnyConnection,
    id: &OrderId,
    to: OrderStatus,
    now: i64,
) -> Result<(OrderSummary, Option<String>), Error> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        summary: Summary,
        checkout_session_id: Option<String>,
    }
    let row: Row = sqlx::query_as(
        "UPDATE orders SET status = $1, updated_at = $2 WHERE id = $3 \
         RETURNING store_id, status, currency, total_amount, checkout_session_id",
    )
    .bind(to.as_str())
    .bind(now)
    .bind(id.as_str())
    .fetch_one(conn)
    .await?;
    Ok((row.summary.of(id)?, row.checkout_session_id))
}

/// Which of a store's orders to list, and from where.
pub struct Listing<'a> {
    pub status: Option<OrderStatus>,
    pub created_after: i64,
    pub created_before: i64,
    /// Orders before this (time, id), newest first; from the newest when the id is empty.
    pub before: (i64, &'a str),
    pub limit: i64,
}

/// The store's orders, newest first, with each one's (time, id) position.
pub async fn list(db: &Db, store: &StoreId, l: Listing<'_>) -> Result<Vec<(AdminOrder, (i64, String))>, Error> {
    #[derive(sqlx::FromRow)]
    struct Row {
        id: String,
        #[sqlx(flatten)]
        summary: Summary,
        customer_email: String,
        created_at: i64,
    }
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, store_id, status, currency, total_amount, customer_email, created_at FROM orders \
         WHERE store_id = $1 AND ($2 = '' OR status = $2) AND created_at >= $3 AND created_at < $4 \
         AND (created_at < $5 OR (created_at = $5 AND id < $6) OR $6 = '') \
         ORDER BY created_at DESC, id DESC LIMIT $7",
    )
    .bind(store.as_str())
    .bind(l.status.map_or("", OrderStatus::as_str))
    .bind(l.created_after)
    .bind(l.created_before)
    .bind(l.before.0)
    .bind(l.before.1)
    .bind(l.limit)
    .fetch_all(db.reader())
    .await?;
    rows.into_iter()
        .map(|row| {
            let id = OrderId::parse(&row.id).map_err(|_| Error::Corrupt("stored order has an invalid id".into()))?;
            let summary = row.summary.of(&id)?;
            let order = AdminOrder {
                id,
                status: summary.status,
                total: summary.total,
                customer_email: row.customer_email,
                created_at: rfc3339(row.created_at),
            };
            Ok((order, (row.created_at, row.id)))
        })
        .collect()
}

/// Everything the merchant sees of one of the store's orders, read in one snapshot.
pub async fn detail(db: &Db, store: &StoreId, id: &OrderId) -> Result<Option<OrderDetail>, Error> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        summary: Summary,
        customer_id: Option<String>,
        customer_email: String,
        customer_name: Option<String>,
        billing_address: Option<String>,
        shipping_address: Option<String>,
        checkout_session_id: Option<String>,
        created_at: i64,
        updated_at: i64,
    }
    #[derive(sqlx::FromRow)]
    struct Payment {
        id: String,
        kind: String,
        status: String,
        amount: i64,
        gateway_payment_id: Option<String>,
        decline_code: Option<String>,
        created_at: i64,
    }
    #[derive(sqlx::FromRow)]
    struct Refund {
        id: String,
        status: String,
        amount: i64,
        reason: Option<String>,
        gateway_refund_id: Option<String>,
        created_at: i64,
    }
    #[derive(sqlx::FromRow)]
    struct History {
        at: i64,
        kind: String,
        detail: String,
    }
    // One snapshot: a payment and the history it wrote are seen together.
    let mut read = db.snapshot().await?;
    let row: Option<Row> = sqlx::query_as(
        "SELECT store_id, status, currency, total_amount, customer_id, customer_email, customer_name, billing_address, \
         shipping_address, checkout_session_id, created_at, updated_at FROM orders WHERE id = $1 AND store_id = $2",
    )
    .bind(id.as_str())
    .bind(store.as_str())
    .fetch_optional(&mut *read)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let summary = row.summary.of(id)?;
    let currency = summary.total.currency();
    let address = |text: Option<String>| -> Result<Option<Address>, Error> {
        text.map(|t| serde_json::from_str(&t).map_err(|_| Error::Corrupt("stored address is invalid".into())))
            .transpose()
    };
    // The order's payments, refunds and history: rows of `table` for this
    // order, oldest first, in the same snapshot.
    let of_order = |columns: &str, table: &str, order_by: &str| {
        format!("SELECT {columns} FROM {table} WHERE order_id = $1 AND store_id = $2 ORDER BY {order_by}, id")
    };
    let sql = of_order(
        "id, kind, status, amount, gateway_payment_id, decline_code, created_at",
        "payment_attempts",
        "created_at",
    );
    let payments: Vec<Payment> =
        sqlx::query_as(&sql).bind(id.as_str()).bind(store.as_str()).fetch_all(&mut *read).await?;
    let sql = of_order("id, status, amount, reason, gateway_refund_id, created_at", "refunds", "created_at");
    let refunds: Vec<Refund> =
        sqlx::query_as(&sql).bind(id.as_str()).bind(store.as_str()).fetch_all(&mut *read).await?;
    let sql = of_order("at, kind, detail", "order_history", "at");
    let history: Vec<History> =
        sqlx::query_as(&sql).bind(id.as_str()).bind(store.as_str()).fetch_all(&mut *read).await?;
    Ok(Some(OrderDetail {
        id: id.clone(),
        status: summary.status,
        total: summary.total,
        // In the snapshot, on its connection: asking the pool for a second one
        // while holding the first deadlocks once as many details are read at
        // once as the pool has connections.
        lines: lines(&mut read, id, store, currency).await?,
        customer: CustomerDetail {
            id: row.customer_id,
            email: row.customer_email,
            name: row.customer_name,
            billing_address: address(row.billing_address)?,
            shipping_address: address(row.shipping_address)?,
        },
        checkout_session: row.checkout_session_id,
        created_at: rfc3339(row.created_at),
        updated_at: rfc3339(row.updated_at),
        payments: payments
            .into_iter()
            .map(|p| {
                Ok(PaymentDetail {
                    id: p.id,
                    kind: p.kind,
                    status: p.status,
                    amount: money(p.amount, currency)?,
                    gateway_payment_id: p.gateway_payment_id,
                    decline_code: p.decline_code,
                    created_at: rfc3339(p.created_at),
                })
            })
            .collect::<Result<_, Error>>()?,
        refunds: refunds
            .into_iter()
            .map(|r| {
                Ok(RefundDetail {
                    id: r.id,
                    status: r.status,
                    amount: money(r.amount, currency)?,
                    reason: r.reason,
                    gateway_refund_id: r.gateway_refund_id,
                    created_at: rfc3339(r.created_at),
                })
            })
            .collect::<Result<_, Error>>()?,
        history: history
            .into_iter()
            .map(|h| HistoryEntry { at: rfc3339(h.at), kind: h.kind, detail: h.detail })
            .collect(),
    }))
}
