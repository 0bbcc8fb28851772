//! The public API the widget calls (same origin as the server).

use std::net::IpAddr;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use paylet_api::{
    CheckoutConfig, CheckoutSessionView, ClientSecret, ConfirmPaymentRequest, CreateOrderRequest, HostedSessionRequest,
    Order, OrderId, OrderStatus, PayRequest, StoreId,
};
use serde::Deserialize;

use super::extract::{ApiQuery, ClientIp, IdempotentJson};
use super::idempotent::respond;
use crate::app::AppState;
use crate::idempotency::Phase;
use crate::limits::Action;
use crate::{Error, catalog, checkout_sessions, csp_reports, orders, payments, stores, webhooks};

fn store_id(raw: &str) -> Result<StoreId, Error> {
    StoreId::parse(raw).map_err(|_| Error::NotFound("store"))
}

fn order_id(raw: &str) -> Result<OrderId, Error> {
    OrderId::parse(raw).map_err(|_| Error::NotFound("order"))
}

pub async fn checkout_config(
    State(state): State<AppState>,
    Path(store): Path<String>,
) -> Result<Json<CheckoutConfig>, Error> {
    let store = stores::find(&state.db, &store_id(&store)?).await?;
    let catalog = catalog::list_active(&state.db, &store.id).await?;
    Ok(Json(CheckoutConfig {
        store_id: store.id.clone(),
        store_name: store.name.clone(),
        currency: store.currency,
        payment_methods: store.payment_methods.clone(),
        allowed_origins: store.allowed_origins.clone(),
        gateway: store.gateway.public_config(),
        catalog: catalog.iter().map(catalog::Product::to_catalog_item).collect(),
    }))
}

pub async fn create_order(
    State(state): State<AppState>,
    Path(store): Path<String>,
    ClientIp(client): ClientIp,
    request: IdempotentJson<CreateOrderRequest>,
) -> Result<Response, Error> {
    let store = stores::find(&state.db, &store_id(&store)?).await?;
    state.limiter.check(client, Action::CreateOrder { store: &store.id }).await?;
    let scope = format!("POST /v1/stores/{}/orders", store.id);
    let (state, value) = (&state, &request.value);
    respond(state, Phase::Atomic, &scope, &request, |claim| async move {
        let order = orders::create(&state.db, &store, value, claim.as_deref()).await?;
        state.metrics.orders_created.inc();
        Ok((StatusCode::CREATED, order))
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderQuery {
    client_secret: ClientSecret,
    /// `true` when the shopper is back from the gateway's page: the server
    /// asks the gateway now rather than wait for its webhook.
    #[serde(default)]
    refresh: bool,
}

pub async fn get_order(
    State(state): State<AppState>,
    Path(order): Path<String>,
    ApiQuery(query): ApiQuery<OrderQuery>,
) -> Result<Json<Order>, Error> {
    let mut summary = orders::find_for_client(&state.db, &order_id(&order)?, &query.client_secret).await?;
    let unsettled = matches!(summary.status, OrderStatus::Pending | OrderStatus::RequiresAction);
    if query.refresh && unsettled && state.limiter.may_refresh(&summary.id).await? {
        let store = stores::find(&state.db, &summary.store_id).await?;
        for attempt in payments::unsettled(&state.db, &summary.id).await? {
            // The stored status is still an answer; reconciliation asks again later.
            if let Err(e) = payments::ask_gateway(&state, &store, &attempt).await {
                tracing::warn!(attempt = %attempt.id, error = %e, "could not refresh a payment from the gateway");
            }
        }
        summary = orders::summary(&state.db, &summary.id).await?;
    }
    Ok(Json(orders::load(&state.db, &summary).await?))
}

pub async fn pay(
    State(state): State<AppState>,
    Path(order): Path<String>,
    ClientIp(client): ClientIp,
    request: IdempotentJson<PayRequest>,
) -> Result<Response, Error> {
    let id = order_id(&order)?;
    limit_payments(&state, client, &id, &request.value.client_secret).await?;
    let scope = format!("POST /v1/orders/{id}/payments");
    respond(&state, Phase::Claimed, &scope, &request, |_| async {
        let result = payments::pay(&state, &id, &request.value).await?;
        state.metrics.payments.with_label_values(&[result.status.as_str()]).inc();
        Ok((StatusCode::OK, result))
    })
    .await
}

/// A card payment, a confirmation after 3-D Secure and a hosted page each
/// ask the gateway, so each counts as a payment attempt. Only once the client
/// secret is checked: a stranger who knows an order's id cannot use up its
/// budget.
async fn limit_payments(state: &AppState, client: IpAddr, order: &OrderId, secret: &ClientSecret) -> Result<(), Error> {
    let store = orders::find_for_client(&state.db, order, secret).await?.store_id;
    state.limiter.check(client, Action::Pay { store: &store, order }).await
}

pub async fn confirm_payment(
    State(state): State<AppState>,
    Path(order): Path<String>,
    ClientIp(client): ClientIp,
    request: IdempotentJson<ConfirmPaymentRequest>,
) -> Result<Response, Error> {
    let id = order_id(&order)?;
    limit_payments(&state, client, &id, &request.value.client_secret).await?;
    let scope = format!("POST /v1/orders/{id}/payments/confirm");
    respond(&state, Phase::Claimed, &scope, &request, |_| async {
        let result = payments::confirm(&state, &id, &request.value).await?;
        state.metrics.payments.with_label_values(&[result.status.as_str()]).inc();
        Ok((StatusCode::OK, result))
    })
    .await
}

pub async fn hosted_session(
    State(state): State<AppState>,
    Path(order): Path<String>,
    ClientIp(client): ClientIp,
    headers: HeaderMap,
    request: IdempotentJson<HostedSessionRequest>,
) -> Result<Response, Error> {
    let id = order_id(&order)?;
    limit_payments(&state, client, &id, &request.value.client_secret).await?;
    let scope = format!("POST /v1/orders/{id}/hosted-session");
    let mut response = respond(&state, Phase::Claimed, &scope, &request, |_| async {
        Ok((StatusCode::OK, payments::hosted_session(&state, &id, &request.value).await?))
    })
    .await?;
    // Only the widget itself (a request from the Paylet origin) is given the
    // cookie: a script on the merchant's page that asks for a hosted page of
    // its own order must not leave the shopper's widget a way back to it.
    let from_widget = headers.get("sec-fetch-site").is_some_and(|site| site == "same-origin");
    if response.status() == StatusCode::OK && from_widget {
        let cookie = format!(
            "{}={}; Max-Age=86400; {COOKIE_ATTRIBUTES}",
            return_cookie(&id),
            request.value.client_secret.expose()
        );
        // Ids and secrets are ASCII letters, digits and `_`, always a valid header.
        if let Ok(cookie) = header::HeaderValue::try_from(cookie) {
            response.headers_mut().append(header::SET_COOKIE, cookie);
        }
    }
    Ok(response)
}

/// Where the order's secret waits while the shopper is on the gateway's
/// page: the merchant's page goes away, and the widget's memory with it. A
/// cookie of the Paylet origin, partitioned by the merchant's site (CHIPS),
/// which browsers keep for a cross-site frame even where they block its
/// third-party cookies and storage; HttpOnly, so no script reads it. The
/// `__Host-` prefix keeps a sibling host of a shop that shares Paylet's site
/// from planting one for its own order. One per order, so tabs do not mix.
fn return_cookie(order: &OrderId) -> String {
    format!("__Host-paylet_return_{order}")
}

const COOKIE_ATTRIBUTES: &str = "Path=/; Secure; HttpOnly; SameSite=None; Partitioned";

/// The widget, back on the merchant's page from the gateway's hosted page,
/// takes up the order it sent there: the order and its client secret, if
/// this browser holds the cookie [`hosted_session`] gave the widget. The
/// order named in the merchant page's URL is resumed only so: an order a
/// script on that page made is not.
pub async fn resume_order(
    State(state): State<AppState>,
    Path(order): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let id = order_id(&order)?;
    let name = return_cookie(&id);
    let secret = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(name.as_str())?.strip_prefix('='))
        .map(|secret| ClientSecret::new(secret.to_owned()))
        .ok_or(Error::NotFound("order"))?;
    let summary = orders::find_for_client(&state.db, &id, &secret).await?;
    let order = orders::load(&state.db, &summary).await?;
    let settled = !matches!(order.status, OrderStatus::Pending | OrderStatus::RequiresAction);
    let mut response = Json(Order { client_secret: Some(secret), ..order }).into_response();
    // Paid, failed or canceled: nothing is left to come back to.
    if settled && let Ok(clear) = header::HeaderValue::try_from(format!("{name}=; Max-Age=0; {COOKIE_ATTRIBUTES}")) {
        response.headers_mut().append(header::SET_COOKIE, clear);
    }
    Ok(response)
}

/// The gateway's webhooks: the raw body, since the signature covers its bytes.
pub async fn gateway_webhook(
    State(state): State<AppState>,
    Path((store, gateway)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<webhooks::Receipt>, Error> {
    Ok(Json(webhooks::receive(&state, &store_id(&store)?, &gateway, &headers, &body).await?))
}

/// The most a report may weigh: a browser's are well under 1 KB.
const REPORT_LIMIT: usize = 8 * 1024;

/// A browser's report that the widget page's CSP refused something. Known
/// stores only; the body is the browser's `application/csp-report` JSON (what
/// browsers send to a `report-uri`), of bounded size, and limited per address
/// and store: anyone can post one.
pub async fn csp_report(
    State(state): State<AppState>,
    Path(store): Path<String>,
    ClientIp(client): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, Error> {
    let store = stores::find(&state.db, &store_id(&store)?).await?;
    let mime = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).and_then(|v| v.split(';').next());
    if !mime.is_some_and(|m| m.trim().eq_ignore_ascii_case("application/csp-report")) {
        return Err(Error::UnsupportedMediaType("application/csp-report"));
    }
    if body.len() > REPORT_LIMIT {
        return Err(Error::PayloadTooLarge);
    }
    state.limiter.check(client, Action::Report { store: &store.id }).await?;
    let report = super::extract::parse::<csp_reports::ReportBody>(&body)?;
    csp_reports::record(&state.db, &store.id, report).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn checkout_session(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<CheckoutSessionView>, Error> {
    Ok(Json(checkout_sessions::find(&state.db, &id).await?.view()))
}
