//! Orders: priced by the server (from its catalog, or from a checkout session
//! the merchant created), paid through a gateway, moved between statuses only
//! by [`transition`], with every step in the order's history.

use base64::Engine;
use paylet_api::{
    Address, ClientSecret, CreateOrderRequest, Currency, Money, Order, OrderId, OrderLine, OrderStatus, StoreId,
};
use paylet_secret::constant_time_eq;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::catalog::{self, Sku};
use crate::checkout_sessions;
use crate::customers::{self, Email};
use crate::db::{Arg, Backend, Batch, Db, now_millis, rfc3339};
use crate::idempotency::Claim;
use crate::order_state::{self, OrderEvent};
use crate::stores::Store;
use crate::{Error, ids, notifications};

/// Limits that keep one order to what a checkout can show.
const MAX_LINES: usize = 100;
const MAX_QUANTITY: u32 = 10_000;

/// Prices the request and stores the new order, its customer, its first
/// history entry and (given a claim) the idempotent response, all in one
/// atomic write. The client secret is returned here once and stored only hashed.
pub async fn create(
    db: &Db,
    store: &Store,
    request: &CreateOrderRequest,
    claim: Option<&Claim>,
) -> Result<Order, Error> {
    let email = Email::parse(&request.customer.email, "customer.email")?;
    let name = customers::parse_name(request.customer.name.as_deref(), "customer.name")?;
    let billing = checked_address(request.customer.billing_address.as_ref(), "customer.billing_address")?;
    let shipping = checked_address(request.customer.shipping_address.as_ref(), "customer.shipping_address")?;

    let (lines, session) = match (&request.checkout_session, request.items.is_empty()) {
        (Some(session_id), true) => {
            // Read before the write: an order made in the instant a session
            // completes is still one the shopper must choose to pay.
            let session = checkout_sessions::find(db, session_id).await.map_err(|_| unknown_session())?;
            if session.store_id != store.id {
                return Err(unknown_session());
            }
            match session.effective_status() {
                "open" => (session.lines.clone(), Some(session.id)),
                status => {
                    return Err(Error::Conflict {
                        code: "checkout_session_closed",
                        message: format!("This checkout session is {status}."),
                    });
                }
            }
        }
        (None, false) => (price_lines(db, store, request).await?, None),
        (Some(_), false) => {
            return Err(Error::invalid(
                "conflicting_parameters",
                "items",
                "Send items or a checkout session, not both.",
            ));
        }
        (None, true) => return Err(Error::invalid("no_items", "items", "An order needs at least one item.")),
    };
    let total = lines
        .iter()
        .try_fold(Money::zero(store.currency), |sum, line| sum.checked_add(line.total))
        .map_err(|_| too_large("items"))?;

    let id = ids::new_order_id();
    let secret = ids::new_client_secret(&id);
    let now = now_millis();
    let mut batch = Batch::default();
    customers::upsert(&mut batch, &store.id, &email, name.as_deref(), now);
    // The customer row exists by now, new or not.
    batch.add(
        "INSERT INTO orders (id, store_id, status, currency, total_amount, client_secret_hash, customer_email, \
         customer_name, customer_id, billing_address, shipping_address, checkout_session_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, (SELECT id FROM customers WHERE store_id = $2 AND email = $7), \
         $9, $10, $11, $12, $12)",
        vec![
            Arg::Text(id.to_string()),
            Arg::Text(store.id.to_string()),
            Arg::Text(OrderStatus::Pending.as_str().into()),
            Arg::Text(total.currency().code().into()),
            Arg::Int(total.amount()),
            Arg::Text(ids::sha256_hex(secret.expose())),
            Arg::Text(email.as_str().into()),
            Arg::OptText(name),
            Arg::OptText(billing),
            Arg::OptText(shipping),
            Arg::OptText(session),
            Arg::Int(now),
        ],
    );
    add_lines(&mut batch, &id, &store.id, &lines);
    add_history(&mut batch, &id, &store.id, now, "created", &format!("Order created for {total}."));
    let order = Order { id, status: OrderStatus::Pending, lines, total, client_secret: Some(secret) };
    if let Some(claim) = claim {
        let body = serde_json::to_string(&order).map_err(|e| Error::Internal(e.to_string()))?;
        claim.save_in(db, &mut batch, 201, &body)?;
    }
    db.write_batch(batch).await?;
    if let Some(claim) = claim {
        claim.saved();
    }
    Ok(order)
}

fn unknown_session() -> Error {
    Error::invalid("unknown_checkout_session", "checkout_session", "No such checkout session.")
}

fn checked_address(address: Option<&Address>, field: &str) -> Result<Option<String>, Error> {
    let Some(address) = address else { return Ok(None) };
    let checked =
        address.checked().map_err(|p| Error::invalid("invalid_address", format!("{field}.{}", p.field), p.message))?;
    serde_json::to_string(&checked).map(Some).map_err(|e| Error::Internal(e.to_string()))
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

fn add_history(batch: &mut Batch, order: &OrderId, store: &StoreId, at: i64, kind: &str, detail: &str) {
    batch.add(HISTORY_SQL, history_args(order, store, at, kind, detail));
}

/// Prices each item from the catalog, fetched in one query.
async fn price_lines(db: &Db, store: &Store, request: &CreateOrderRequest) -> Result<Vec<OrderLine>, Error> {
    if request.items.len() > MAX_LINES {
        return Err(Error::invalid("too_many_items", "items", format!("An order has at most {MAX_LINES} items.")));
    }
    let skus = request
        .items
        .iter()
        .enumerate()
        .map(|(i, item)| Sku::parse_field(&item.sku, format!("items[{i}].sku")))
        .collect::<Result<Vec<_>, _>>()?;
    let products = catalog::find_many(db, &store.id, &skus.iter().collect::<Vec<_>>()).await?;
    let mut lines = Vec::with_capacity(request.items.len());
    for (i, (item, sku)) in request.items.iter().zip(&skus).enumerate() {
        let sku_field = format!("items[{i}].sku");
        if item.quantity == 0 || item.quantity > MAX_QUANTITY {
            return Err(Error::invalid(
                "invalid_quantity",
                format!("items[{i}].quantity"),
                format!("Quantity must be between 1 and {MAX_QUANTITY}."),
            ));
        }
        let product = products.iter().find(|p| p.sku == *sku).ok_or_else(|| {
            Error::invalid("unknown_sku", sku_field.clone(), format!("No product with SKU `{}`.", sku.as_str()))
        })?;
        if !product.active {
            return Err(Error::invalid("inactive_product", sku_field, format!("`{}` is not for sale.", sku.as_str())));
        }
        if product.price.currency() != store.currency {
            return Err(Error::Corrupt(format!("product {} is not priced in the store's currency", sku.as_str())));
        }
        let total = product.price.checked_mul(item.quantity).map_err(|_| too_large(&format!("items[{i}].quantity")))?;
        lines.push(OrderLine {
            sku: product.sku.as_str().to_owned(),
            name: product.name.clone(),
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
    pub store_id: StoreId,
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

const SUMMARY_SQL: &str = "SELECT store_id, status, currency, total_amount FROM orders WHERE id = $1";

/// The order, for code that already knows it may see it.
pub async fn summary(db: &Db, id: &OrderId) -> Result<OrderSummary, Error> {
    let row = sqlx::query(SUMMARY_SQL).bind(id.as_str()).fetch_optional(db.reader()).await?;
    summary_from_row(id, &row.ok_or(Error::NotFound("order"))?)
}

/// The order, inside a write job.
pub async fn summary_in(conn: &mut AnyConnection, id: &OrderId) -> Result<OrderSummary, Error> {
    let row = sqlx::query(SUMMARY_SQL).bind(id.as_str()).fetch_optional(conn).await?;
    summary_from_row(id, &row.ok_or(Error::NotFound("order"))?)
}

pub async fn customer_email(db: &Db, id: &OrderId) -> Result<String, Error> {
    let row = sqlx::query("SELECT customer_email FROM orders WHERE id = $1")
        .bind(id.as_str())
        .fetch_optional(db.reader())
        .await?
        .ok_or(Error::NotFound("order"))?;
    Ok(row.try_get("customer_email")?)
}

fn summary_from_row(id: &OrderId, row: &AnyRow) -> Result<OrderSummary, Error> {
    let corrupt = |what: &str| Error::Corrupt(format!("stored order {id} has an invalid {what}"));
    let store: String = row.try_get("store_id")?;
    let status: String = row.try_get("status")?;
    let currency: String = row.try_get("currency")?;
    let currency = Currency::parse(&currency).map_err(|_| corrupt("currency"))?;
    Ok(OrderSummary {
        id: id.clone(),
        store_id: StoreId::parse(&store).map_err(|_| corrupt("store"))?,
        status: OrderStatus::parse(&status).ok_or_else(|| corrupt("status"))?,
        total: Money::new(row.try_get("total_amount")?, currency).map_err(|_| corrupt("total"))?,
    })
}

/// The full order for the widget.
pub async fn load(db: &Db, summary: &OrderSummary) -> Result<Order, Error> {
    let mut conn = db.reader().acquire().await?;
    let lines = lines(&mut conn, &summary.id, &summary.store_id, summary.total.currency()).await?;
    Ok(Order { id: summary.id.clone(), status: summary.status, lines, total: summary.total, client_secret: None })
}

async fn lines(
    conn: &mut AnyConnection,
    order: &OrderId,
    store: &StoreId,
    currency: Currency,
) -> Result<Vec<OrderLine>, Error> {
    let rows = sqlx::query(
        "SELECT sku, name, quantity, unit_amount, total_amount FROM order_lines \
         WHERE order_id = $1 AND store_id = $2 ORDER BY line_no",
    )
    .bind(order.as_str())
    .bind(store.as_str())
    .fetch_all(conn)
    .await?;
    let money = |amount: i64| Money::new(amount, currency).map_err(|_| Error::Corrupt("negative stored amount".into()));
    rows.iter()
        .map(|row| {
            let quantity: i64 = row.try_get("quantity")?;
            Ok(OrderLine {
                sku: row.try_get("sku")?,
                name: row.try_get("name")?,
                quantity: u32::try_from(quantity).map_err(|_| Error::Corrupt("stored quantity out of range".into()))?,
                unit_price: money(row.try_get("unit_amount")?)?,
                total: money(row.try_get("total_amount")?)?,
            })
        })
        .collect()
}

/// Reads the order's status inside a write job, locking the row where the
/// engine has row locks.
pub async fn status_in(conn: &mut AnyConnection, backend: Backend, id: &OrderId) -> Result<OrderStatus, Error> {
    let sql = format!("SELECT status FROM orders WHERE id = $1{}", backend.for_update());
    let status: String = sqlx::query(&sql)
        .bind(id.as_str())
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(Error::NotFound("order"))?
        .try_get("status")?;
    OrderStatus::parse(&status).ok_or_else(|| Error::Corrupt(format!("stored order {id} has an invalid status")))
}

/// Applies `event` to the order inside a write job. Returns the new status,
/// or the unchanged one when the state machine ignores the event. A change
/// is written to the order's history and announced to the merchant; a paid
/// order completes the checkout session it came from.
pub async fn transition(
    conn: &mut AnyConnection,
    backend: Backend,
    id: &OrderId,
    event: OrderEvent,
) -> Result<OrderStatus, Error> {
    let from = status_in(conn, backend, id).await?;
    let Some(to) = order_state::next(from, event) else {
        tracing::info!(order = %id, ?from, ?event, "order event ignored by the state machine");
        return Ok(from);
    };
    let now = now_millis();
    let row = sqlx::query(
        "UPDATE orders SET status = $1, updated_at = $2 WHERE id = $3 \
         RETURNING store_id, status, currency, total_amount, checkout_session_id",
    )
    .bind(to.as_str())
    .bind(now)
    .bind(id.as_str())
    .fetch_one(&mut *conn)
    .await?;
    let summary = summary_from_row(id, &row)?;
    if to == OrderStatus::Paid
        && let Some(session) = row.try_get::<Option<String>, _>("checkout_session_id")?
    {
        checkout_sessions::complete_in(conn, &session).await?;
    }
    record_in(conn, id, &summary.store_id, "status_changed", &format!("{} → {}", from.as_str(), to.as_str())).await?;
    notifications::order_changed(conn, &summary.id, &summary.store_id, summary.total, to, now).await?;
    tracing::info!(order = %id, from = from.as_str(), to = to.as_str(), "order status changed");
    Ok(to)
}

/// Adds an entry to the order's history inside a write job.
pub async fn record_in(
    conn: &mut AnyConnection,
    order: &OrderId,
    store: &StoreId,
    kind: &str,
    detail: &str,
) -> Result<(), Error> {
    let args = history_args(order, store, now_millis(), kind, detail);
    crate::db::bind(sqlx::query(HISTORY_SQL), &args).execute(&mut *conn).await?;
    Ok(())
}

/// An order as the merchant's list shows it.
#[derive(Debug, Clone, Serialize)]
pub struct AdminOrder {
    pub id: OrderId,
    pub status: OrderStatus,
    pub total: Money,
    pub customer_email: String,
    pub created_at: String,
}

/// Which orders to list.
#[derive(Debug, Default)]
pub struct OrderFilter {
    pub status: Option<OrderStatus>,
    pub created_after: Option<i64>,
    pub created_before: Option<i64>,
    pub limit: usize,
    pub cursor: Option<String>,
}

pub struct OrderPage {
    pub orders: Vec<AdminOrder>,
    pub next_cursor: Option<String>,
}

/// The store's orders, newest first, a page at a time. The cursor is opaque to
/// clients: the position (time, id) after the last order returned.
pub async fn list(db: &Db, store: &StoreId, filter: &OrderFilter) -> Result<OrderPage, Error> {
    let (cursor_at, cursor_id) = match &filter.cursor {
        Some(c) => decode_cursor(c)?,
        None => (i64::MAX, String::new()),
    };
    let limit = filter.limit.clamp(1, 100);
    let rows = sqlx::query(
        "SELECT id, store_id, status, currency, total_amount, customer_email, created_at FROM orders \
         WHERE store_id = $1 AND ($2 = '' OR status = $2) AND created_at >= $3 AND created_at < $4 \
         AND (created_at < $5 OR (created_at = $5 AND id < $6) OR $6 = '') \
         ORDER BY created_at DESC, id DESC LIMIT $7",
    )
    .bind(store.as_str())
    .bind(filter.status.map_or("", OrderStatus::as_str))
    .bind(filter.created_after.unwrap_or(0))
    .bind(filter.created_before.unwrap_or(i64::MAX))
    .bind(cursor_at)
    .bind(&cursor_id)
    .bind(i64::try_from(limit + 1).unwrap_or(101))
    .fetch_all(db.reader())
    .await?;
    let mut orders = rows.iter().map(admin_order).collect::<Result<Vec<_>, _>>()?;
    let next_cursor = if orders.len() > limit {
        orders.truncate(limit);
        let last = &rows[limit - 1];
        Some(encode_cursor(last.try_get("created_at")?, &last.try_get::<String, _>("id")?))
    } else {
        None
    };
    Ok(OrderPage { orders, next_cursor })
}

fn admin_order(row: &AnyRow) -> Result<AdminOrder, Error> {
    let id: String = row.try_get("id")?;
    let id = OrderId::parse(&id).map_err(|_| Error::Corrupt("stored order has an invalid id".into()))?;
    let summary = summary_from_row(&id, row)?;
    Ok(AdminOrder {
        id,
        status: summary.status,
        total: summary.total,
        customer_email: row.try_get("customer_email")?,
        created_at: rfc3339(row.try_get("created_at")?),
    })
}

fn encode_cursor(at: i64, id: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{at}:{id}"))
}

fn decode_cursor(cursor: &str) -> Result<(i64, String), Error> {
    let bad = || Error::invalid("invalid_cursor", "cursor", "Use the `next_cursor` of the previous page.");
    let text = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let text = String::from_utf8(text).map_err(|_| bad())?;
    let (at, id) = text.split_once(':').ok_or_else(bad)?;
    Ok((at.parse().map_err(|_| bad())?, OrderId::parse(id).map_err(|_| bad())?.to_string()))
}

/// Everything the merchant sees of one order.
#[derive(Debug, Clone, Serialize)]
pub struct OrderDetail {
    pub id: OrderId,
    pub status: OrderStatus,
    pub total: Money,
    pub lines: Vec<OrderLine>,
    pub customer: CustomerDetail,
    pub checkout_session: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub payments: Vec<PaymentDetail>,
    pub refunds: Vec<RefundDetail>,
    pub history: Vec<HistoryEntry>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CustomerDetail {
    pub id: Option<String>,
    pub email: String,
    pub name: Option<String>,
    pub billing_address: Option<Address>,
    pub shipping_address: Option<Address>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PaymentDetail {
    pub id: String,
    /// `card` (a token charged inline) or `hosted` (the gateway's page).
    pub kind: String,
    pub status: String,
    pub amount: Money,
    pub gateway_payment_id: Option<String>,
    pub decline_code: Option<String>,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RefundDetail {
    pub id: String,
    pub status: String,
    pub amount: Money,
    pub reason: Option<String>,
    pub gateway_refund_id: Option<String>,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct HistoryEntry {
    pub at: String,
    pub kind: String,
    pub detail: String,
}

pub async fn detail(db: &Db, store: &StoreId, id: &OrderId) -> Result<OrderDetail, Error> {
    // One snapshot: a payment and the history it wrote are seen together.
    let mut read = db.snapshot().await?;
    let row = sqlx::query(
        "SELECT store_id, status, currency, total_amount, customer_id, customer_email, customer_name, billing_address, \
         shipping_address, checkout_session_id, created_at, updated_at FROM orders WHERE id = $1 AND store_id = $2",
    )
    .bind(id.as_str())
    .bind(store.as_str())
    .fetch_optional(&mut *read)
    .await?
    .ok_or(Error::NotFound("order"))?;
    let summary = summary_from_row(id, &row)?;
    let currency = summary.total.currency();
    let address = |column: &str| -> Result<Option<Address>, Error> {
        let text: Option<String> = row.try_get(column)?;
        text.map(|t| serde_json::from_str(&t).map_err(|_| Error::Corrupt("stored address is invalid".into())))
            .transpose()
    };
    let money = |amount: i64| Money::new(amount, currency).map_err(|_| Error::Corrupt("negative stored amount".into()));
    // The order's payments, refunds and history: rows of `table` for this
    // order, oldest first, in the same snapshot.
    let mut rows_of = async |columns: &str, table: &str, order_by: &str| -> Result<Vec<AnyRow>, Error> {
        let sql =
            format!("SELECT {columns} FROM {table} WHERE order_id = $1 AND store_id = $2 ORDER BY {order_by}, id");
        Ok(sqlx::query(&sql).bind(id.as_str()).bind(store.as_str()).fetch_all(&mut *read).await?)
    };
    let payments = rows_of(
        "id, kind, status, amount, gateway_payment_id, decline_code, created_at",
        "payment_attempts",
        "created_at",
    )
    .await?
    .iter()
    .map(|p| {
        Ok(PaymentDetail {
            id: p.try_get("id")?,
            kind: p.try_get("kind")?,
            status: p.try_get("status")?,
            amount: money(p.try_get("amount")?)?,
            gateway_payment_id: p.try_get("gateway_payment_id")?,
            decline_code: p.try_get("decline_code")?,
            created_at: rfc3339(p.try_get("created_at")?),
        })
    })
    .collect::<Result<Vec<_>, Error>>()?;
    let refunds = rows_of("id, status, amount, reason, gateway_refund_id, created_at", "refunds", "created_at")
        .await?
        .iter()
        .map(|r| {
            Ok(RefundDetail {
                id: r.try_get("id")?,
                status: r.try_get("status")?,
                amount: money(r.try_get("amount")?)?,
                reason: r.try_get("reason")?,
                gateway_refund_id: r.try_get("gateway_refund_id")?,
                created_at: rfc3339(r.try_get("created_at")?),
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let history = rows_of("at, kind, detail", "order_history", "at")
        .await?
        .iter()
        .map(|h| {
            Ok(HistoryEntry { at: rfc3339(h.try_get("at")?), kind: h.try_get("kind")?, detail: h.try_get("detail")? })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(OrderDetail {
        id: id.clone(),
        status: summary.status,
        total: summary.total,
        // In the snapshot, on its connection: asking the pool for a second one
        // while holding the first deadlocks once as many details are read at
        // once as the pool has connections.
        lines: lines(&mut read, id, store, currency).await?,
        customer: CustomerDetail {
            id: row.try_get("customer_id")?,
            email: row.try_get("customer_email")?,
            name: row.try_get("customer_name")?,
            billing_address: address("billing_address")?,
            shipping_address: address("shipping_address")?,
        },
        checkout_session: row.try_get("checkout_session_id")?,
        created_at: rfc3339(row.try_get("created_at")?),
        updated_at: rfc3339(row.try_get("updated_at")?),
        payments,
        refunds,
        history,
    })
}
