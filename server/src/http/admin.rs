//! The merchant's API, authenticated with a per-store admin key
//! (`Authorization: Bearer plk_…`). Every query is scoped to that store.

use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use axum::{Json, http::header};
use paylet_api::{CardFields, Money, OrderId, OrderStatus};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::extract::{ApiJson, ApiQuery, IdempotentJson};
use super::idempotent::respond;
use crate::Error;
use crate::app::AppState;
use crate::auth::{self, AdminKey};
use crate::catalog::{self, Product, Sku};
use crate::checkout_sessions::{self, NewSession, SessionLine};
use crate::csp_reports;
use crate::idempotency::Phase;
use crate::orders::{self, OrderFilter};
use crate::refunds;
use crate::stores::{self, Store};
use crate::webhooks;

/// The store whose admin key the request carries.
pub struct Admin {
    pub key: AdminKey,
    pub store: Store,
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let presented = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(Error::Unauthorized)?;
        let key = auth::authenticate(&state.db, presented.trim()).await?;
        let store = stores::find(&state.db, &key.store_id).await?;
        Ok(Admin { key, store })
    }
}

impl Admin {
    /// Idempotency keys are the caller's own: scoped to this admin key and route.
    fn scope(&self, route: &str) -> String {
        format!("admin {} {route}", self.key.id)
    }
}

/// The store's settings, without its secrets.
pub async fn store(admin: Admin) -> Json<Value> {
    store_settings(admin.store)
}

/// The settings a store's admin key may change.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreChanges {
    card_fields: Option<CardFields>,
}

pub async fn update_store(
    State(state): State<AppState>,
    admin: Admin,
    ApiJson(changes): ApiJson<StoreChanges>,
) -> Result<Json<Value>, Error> {
    let mut store = admin.store;
    if let Some(card_fields) = changes.card_fields {
        store = stores::set_card_fields(&state.db, &store.id, card_fields).await?;
    }
    Ok(store_settings(store))
}

fn store_settings(s: Store) -> Json<Value> {
    Json(json!({
        "id": s.id,
        "name": s.name,
        "currency": s.currency,
        "payment_methods": s.payment_methods,
        "allowed_origins": s.allowed_origins,
        "gateway": s.gateway.public_config(),
        "gateway_webhook": { "url": s.webhook.url, "endpoint_id": s.webhook.endpoint_id, "secret_set": s.webhook.secret.is_some() },
        "notification_url": s.notify.map(|n| n.url),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRefund {
    /// All that is left when absent.
    #[serde(default)]
    amount: Option<Money>,
    #[serde(default)]
    reason: Option<String>,
}

pub async fn create_refund(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    request: IdempotentJson<NewRefund>,
) -> Result<Response, Error> {
    let order = OrderId::parse(&id).map_err(|_| Error::NotFound("order"))?;
    let scope = admin.scope(&format!("POST /v1/admin/orders/{order}/refunds"));
    respond(&state, Phase::Claimed, &scope, &request, |_| async {
        let new = refunds::NewRefund {
            amount: request.value.amount,
            reason: request.value.reason.clone(),
            request_key: request.key.clone(),
        };
        let refund = refunds::create(&state, &admin.store, &order, new).await?;
        Ok((StatusCode::CREATED, refund))
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotificationEndpoint {
    url: String,
}

/// Where order notifications go; answers with the new signing secret, shown once.
pub async fn set_notification_endpoint(
    State(state): State<AppState>,
    admin: Admin,
    ApiJson(endpoint): ApiJson<NotificationEndpoint>,
) -> Result<Json<Value>, Error> {
    let secret =
        stores::set_notify_url(&state.db, &admin.store.id, Some(&endpoint.url), state.settings.url_rules).await?;
    Ok(Json(json!({ "url": endpoint.url, "secret": secret.as_ref().map(|s| s.expose()) })))
}

pub async fn remove_notification_endpoint(State(state): State<AppState>, admin: Admin) -> Result<StatusCode, Error> {
    stores::set_notify_url(&state.db, &admin.store.id, None, state.settings.url_rules).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewProduct {
    sku: String,
    name: String,
    price: Money,
    #[serde(default = "yes")]
    active: bool,
}

fn yes() -> bool {
    true
}

pub async fn create_product(
    State(state): State<AppState>,
    admin: Admin,
    request: IdempotentJson<NewProduct>,
) -> Result<Response, Error> {
    let scope = admin.scope("POST /v1/admin/products");
    respond(&state, Phase::Claimed, &scope, &request, |_| async {
        let p = &request.value;
        let product =
            Product { sku: Sku::parse_field(&p.sku, "sku")?, name: p.name.clone(), price: p.price, active: p.active };
        catalog::add(&state.db, &admin.store.id, admin.store.currency, &product).await?;
        Ok((StatusCode::CREATED, catalog::get(&state.db, &admin.store.id, &product.sku).await?))
    })
    .await
}

#[derive(Serialize)]
pub struct List<T> {
    data: Vec<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

/// What browsers reported the widget page's CSP refused, in groups, the most
/// recently reported first.
pub async fn list_csp_reports(
    State(state): State<AppState>,
    admin: Admin,
) -> Result<Json<List<csp_reports::ReportGroup>>, Error> {
    let data = csp_reports::groups(&state.db, &admin.store.id).await?;
    Ok(Json(List { data, next_cursor: None }))
}

pub async fn list_unmatched_events(
    State(state): State<AppState>,
    admin: Admin,
) -> Result<Json<List<webhooks::UnmatchedEvent>>, Error> {
    let data = webhooks::unmatched(&state.db, &admin.store.id, 100).await?;
    Ok(Json(List { data, next_cursor: None }))
}

pub async fn list_products(State(state): State<AppState>, admin: Admin) -> Result<Json<List<Product>>, Error> {
    Ok(Json(List { data: catalog::list_all(&state.db, &admin.store.id).await?, next_cursor: None }))
}

pub async fn get_product(
    State(state): State<AppState>,
    admin: Admin,
    Path(sku): Path<String>,
) -> Result<Json<Product>, Error> {
    let sku = Sku::parse(&sku).ok_or(Error::NotFound("product"))?;
    Ok(Json(catalog::get(&state.db, &admin.store.id, &sku).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductChanges {
    name: Option<String>,
    price: Option<Money>,
    active: Option<bool>,
}

pub async fn update_product(
    State(state): State<AppState>,
    admin: Admin,
    Path(sku): Path<String>,
    ApiJson(changes): ApiJson<ProductChanges>,
) -> Result<Json<Product>, Error> {
    let sku = Sku::parse(&sku).ok_or(Error::NotFound("product"))?;
    let mut product = catalog::get(&state.db, &admin.store.id, &sku).await?;
    if let Some(price) = changes.price {
        if price.currency() != admin.store.currency {
            return Err(Error::invalid(
                "currency_mismatch",
                "price.currency",
                format!("Prices in this store are in {}.", admin.store.currency),
            ));
        }
        product.price = price;
    }
    if let Some(name) = changes.name {
        product.name = name;
    }
    if let Some(active) = changes.active {
        product.active = active;
    }
    catalog::upsert(&state.db, &admin.store.id, &product).await?;
    Ok(Json(catalog::get(&state.db, &admin.store.id, &sku).await?))
}

pub async fn delete_product(
    State(state): State<AppState>,
    admin: Admin,
    Path(sku): Path<String>,
) -> Result<Json<Value>, Error> {
    let sku = Sku::parse(&sku).ok_or(Error::NotFound("product"))?;
    catalog::delete(&state.db, &admin.store.id, &sku).await?;
    Ok(Json(json!({ "sku": sku, "deleted": true })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderQuery {
    status: Option<String>,
    created_after: Option<String>,
    created_before: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

fn parse_time(value: Option<&str>, field: &str) -> Result<Option<i64>, Error> {
    value
        .map(|v| {
            time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc3339)
                .map(|t| i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX))
                .map_err(|_| Error::invalid("invalid_time", field, "Use an RFC 3339 time like 2026-11-25T12:00:00Z."))
        })
        .transpose()
}

pub async fn list_orders(
    State(state): State<AppState>,
    admin: Admin,
    ApiQuery(q): ApiQuery<OrderQuery>,
) -> Result<Json<List<orders::AdminOrder>>, Error> {
    let status = q
        .status
        .as_deref()
        .map(|s| {
            OrderStatus::parse(s)
                .ok_or_else(|| Error::invalid("invalid_status", "status", format!("`{s}` is not an order status.")))
        })
        .transpose()?;
    let filter = OrderFilter {
        status,
        created_after: parse_time(q.created_after.as_deref(), "created_after")?,
        created_before: parse_time(q.created_before.as_deref(), "created_before")?,
        limit: q.limit.unwrap_or(20),
        cursor: q.cursor,
    };
    if !(1..=100).contains(&filter.limit) {
        return Err(Error::invalid("invalid_limit", "limit", "limit is between 1 and 100."));
    }
    let page = orders::list(&state.db, &admin.store.id, &filter).await?;
    Ok(Json(List { data: page.orders, next_cursor: page.next_cursor }))
}

pub async fn get_order(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
) -> Result<Json<orders::OrderDetail>, Error> {
    let id = OrderId::parse(&id).map_err(|_| Error::NotFound("order"))?;
    Ok(Json(orders::detail(&state.db, &admin.store.id, &id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCheckoutSession {
    line_items: Vec<SessionLine>,
    #[serde(default)]
    customer_email: Option<String>,
    #[serde(default)]
    metadata: serde_json::Map<String, Value>,
    #[serde(default)]
    expires_in_minutes: Option<i64>,
}

pub async fn create_checkout_session(
    State(state): State<AppState>,
    admin: Admin,
    request: IdempotentJson<NewCheckoutSession>,
) -> Result<Response, Error> {
    let scope = admin.scope("POST /v1/admin/checkout-sessions");
    respond(&state, Phase::Claimed, &scope, &request, |_| async {
        let r = &request.value;
        let session = checkout_sessions::create(
            &state.db,
            &admin.store.id,
            admin.store.currency,
            NewSession {
                lines: r.line_items.clone(),
                customer_email: r.customer_email.clone(),
                metadata: r.metadata.clone(),
                expires_in_minutes: r.expires_in_minutes,
            },
        )
        .await?;
        let view = session.view();
        Ok((
            StatusCode::CREATED,
            json!({
                "id": view.id,
                "status": view.status,
                "lines": view.lines,
                "total": view.total,
                "customer_email": session.customer_email,
                "metadata": session.metadata,
                "expires_at": crate::db::rfc3339(session.expires_at),
                "created_at": crate::db::rfc3339(session.created_at),
            }),
        ))
    })
    .await
}
