//! The public API the widget calls (same origin as the server).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use paylet_api::{
    CheckoutConfig, ClientSecret, CreateOrderRequest, Order, OrderId, PayRequest, PaymentResult, StoreId,
};
use serde::Deserialize;

use super::extract::{ApiJson, ApiQuery};
use crate::app::AppState;
use crate::{Error, catalog, orders, payments, stores};

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
        allowed_origins: store.allowed_origins.clone(),
        gateway: store.gateway.public_config(),
        catalog: catalog.iter().map(catalog::Product::to_catalog_item).collect(),
    }))
}

pub async fn create_order(
    State(state): State<AppState>,
    Path(store): Path<String>,
    ApiJson(request): ApiJson<CreateOrderRequest>,
) -> Result<(StatusCode, Json<Order>), Error> {
    let store = stores::find(&state.db, &store_id(&store)?).await?;
    let order = orders::create(&state.db, &store, &request).await?;
    Ok((StatusCode::CREATED, Json(order)))
}

#[derive(Deserialize)]
pub struct SecretQuery {
    client_secret: ClientSecret,
}

pub async fn get_order(
    State(state): State<AppState>,
    Path(order): Path<String>,
    ApiQuery(query): ApiQuery<SecretQuery>,
) -> Result<Json<Order>, Error> {
    let summary = orders::find_for_client(&state.db, &order_id(&order)?, &query.client_secret).await?;
    Ok(Json(orders::load(&state.db, &summary).await?))
}

pub async fn pay(
    State(state): State<AppState>,
    Path(order): Path<String>,
    ApiJson(request): ApiJson<PayRequest>,
) -> Result<Json<PaymentResult>, Error> {
    Ok(Json(payments::pay(&state, &order_id(&order)?, &request).await?))
}
