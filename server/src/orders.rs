//! Orders: priced by the server (from its catalog, or from a checkout session
//! the merchant created), paid through a gateway, moved between statuses only
//! by [`transition`], with every step in the order's history.

use base64::Engine;
use paylet_api::{Address, ClientSecret, CreateOrderRequest, Money, Order, OrderId, OrderLine, OrderStatus, StoreId};
use paylet_secret::constant_time_eq;
use serde::Serialize;

use crate::catalog::{self, Sku};
use crate::checkout_sessions;
use crate::customers::{self, Email};
use crate::db::orders as order_rows;
use crate::db::{Batch, Conn, Db, now_millis};
use crate::idempotency::Claim;
use crate::order_state::{self, OrderEvent};
use crate::stores::Store;
use crate::{Error, db, ids, notifications};

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
    let new = order_rows::New {
        id: &id,
        store: &store.id,
        total,
        client_secret_hash: ids::sha256_hex(secret.expose()),
        email: email.as_str(),
        name,
        billing_address: billing,
        shipping_address: shipping,
        checkout_session: session,
        lines: &lines,
        now,
    };
    order_rows::add_new(&mut batch, new);
    order_rows::add_history(&mut batch, &id, &store.id, now, "created", &format!("Order created for {total}."));
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
    let order = order_rows::with_secret_hash(db, id).await?.ok_or(Error::NotFound("order"))?;
    if !constant_time_eq(order.client_secret_hash.as_bytes(), ids::sha256_hex(secret.expose()).as_bytes()) {
        return Err(Error::NotFound("order"));
    }
    order.summary(id)
}

/// The order, for code that already knows it may see it.
pub async fn summary(db: &Db, id: &OrderId) -> Result<OrderSummary, Error> {
    order_rows::summary(db, id).await?.ok_or(Error::NotFound("order"))
}

/// The order, inside a write job.
pub async fn summary_in(conn: &mut Conn, id: &OrderId) -> Result<OrderSummary, Error> {
    order_rows::summary_in(conn, id).await?.ok_or(Error::NotFound("order"))
}

pub async fn customer_email(db: &Db, id: &OrderId) -> Result<String, Error> {
    order_rows::customer_email(db, id).await?.ok_or(Error::NotFound("order"))
}

/// The full order for the widget.
pub async fn load(db: &Db, summary: &OrderSummary) -> Result<Order, Error> {
    let mut conn = db.reader().acquire().await?;
    let lines = order_rows::lines(&mut conn, &summary.id, &summary.store_id, summary.total.currency()).await?;
    Ok(Order { id: summary.id.clone(), status: summary.status, lines, total: summary.total, client_secret: None })
}

/// Reads the order's status inside a write job, locking the row where the
/// engine has row locks.
pub async fn status_in(conn: &mut Conn, id: &OrderId) -> Result<OrderStatus, Error> {
    order_rows::lock_status(conn, id).await?.ok_or(Error::NotFound("order"))
}

/// Applies `event` to the order inside a write job. Returns the new status,
/// or the unchanged one when the state machine ignores the event. A change
/// is written to the order's history and announced to the merchant; a paid
/// order completes the checkout session it came from.
pub async fn transition(conn: &mut Conn, id: &OrderId, event: OrderEvent) -> Result<OrderStatus, Error> {
    let from = status_in(conn, id).await?;
    let Some(to) = order_state::next(from, event) else {
        tracing::info!(order = %id, ?from, ?event, "order event ignored by the state machine");
        return Ok(from);
    };
    let now = now_millis();
    let (summary, session) = order_rows::set_status(conn, id, to, now).await?;
    if to == OrderStatus::Paid
        && let Some(session) = session
    {
        db::checkout_sessions::complete(conn, &session).await?;
    }
    record_in(conn, id, &summary.store_id, "status_changed", &format!("{} → {}", from.as_str(), to.as_str())).await?;
    notifications::order_changed(conn, &summary.id, &summary.store_id, summary.total, to, now).await?;
    tracing::info!(order = %id, from = from.as_str(), to = to.as_str(), "order status changed");
    Ok(to)
}

/// Adds an entry to the order's history inside a write job.
pub async fn record_in(
    conn: &mut Conn,
    order: &OrderId,
    store: &StoreId,
    kind: &str,
    detail: &str,
) -> Result<(), Error> {
    order_rows::history(conn, (order, store), now_millis(), kind, detail).await
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
    let listing = order_rows::Listing {
        status: filter.status,
        created_after: filter.created_after.unwrap_or(0),
        created_before: filter.created_before.unwrap_or(i64::MAX),
        before: (cursor_at, &cursor_id),
        limit: i64::try_from(limit + 1).unwrap_or(101),
    };
    let mut rows = order_rows::list(db, store, listing).await?;
    let next_cursor = if rows.len() > limit {
        rows.truncate(limit);
        rows.last().map(|(_, (at, id))| encode_cursor(*at, id))
    } else {
        None
    };
    Ok(OrderPage { orders: rows.into_iter().map(|(order, _)| order).collect(), next_cursor })
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
    order_rows::detail(db, store, id).await?.ok_or(Error::NotFound("order"))
}
