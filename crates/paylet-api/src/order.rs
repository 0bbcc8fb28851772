use serde::{Deserialize, Serialize};

use crate::{Address, ClientSecret, Money, OrderId};

/// `POST /v1/stores/{store}/orders`: what the shopper wants, either catalog
/// items or a checkout session the merchant's backend created. Prices are never
/// part of it: the server prices every line itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateOrderRequest {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<LineItemInput>,
    /// A `cs_…` id from `POST /v1/admin/checkout-sessions`, instead of `items`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkout_session: Option<String>,
    pub customer: CustomerInput,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineItemInput {
    pub sku: String,
    pub quantity: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerInput {
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_address: Option<Address>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_address: Option<Address>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Pending,
    RequiresAction,
    Paid,
    PartiallyRefunded,
    Refunded,
    Failed,
    Canceled,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 7] = [
        OrderStatus::Pending,
        OrderStatus::RequiresAction,
        OrderStatus::Paid,
        OrderStatus::PartiallyRefunded,
        OrderStatus::Refunded,
        OrderStatus::Failed,
        OrderStatus::Canceled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Pending => "pending",
            OrderStatus::RequiresAction => "requires_action",
            OrderStatus::Paid => "paid",
            OrderStatus::PartiallyRefunded => "partially_refunded",
            OrderStatus::Refunded => "refunded",
            OrderStatus::Failed => "failed",
            OrderStatus::Canceled => "canceled",
        }
    }

    pub fn parse(s: &str) -> Option<OrderStatus> {
        OrderStatus::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

/// An order as the widget sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub id: OrderId,
    pub status: OrderStatus,
    pub lines: Vec<OrderLine>,
    pub total: Money,
    /// Present only in the response that created the order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<ClientSecret>,
}

/// `GET /v1/checkout-sessions/{id}`: a merchant-priced cart, for the widget to show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutSessionView {
    pub id: String,
    pub store_id: crate::StoreId,
    pub lines: Vec<OrderLine>,
    pub total: Money,
    /// `open`, `complete` or `expired`.
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    /// The catalog SKU; empty for lines a merchant priced in a checkout session.
    #[serde(default)]
    pub sku: String,
    pub name: String,
    pub quantity: u32,
    pub unit_price: Money,
    pub total: Money,
}

/// `POST /v1/orders/{id}/payments`: pay the order with a gateway token. The
/// amount is not part of it; the server charges the order's total.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayRequest {
    pub client_secret: ClientSecret,
    /// The gateway's single-use token for the card (`tok_…`, `pm_…`, `cnon:…`).
    pub token: String,
    /// Square style with the gateway's card fields: what the Web Payments
    /// SDK's `verifyBuyer` returned for this token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification_token: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentResult {
    pub order_id: OrderId,
    pub status: OrderStatus,
    /// Why the card was declined, when it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decline: Option<Decline>,
    /// What the shopper must do next (3-D Secure), when `status` is `requires_action`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_action: Option<NextAction>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decline {
    /// The gateway's decline code, normalised (`card_declined`, `insufficient_funds`, …).
    pub code: String,
    /// Plain words for the shopper.
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NextAction {
    /// The challenge page, for the widget to show in its challenge frame.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_url: Option<String>,
    /// Stripe style with the gateway's card fields: the PaymentIntent's
    /// client secret, for Stripe.js's `handleNextAction`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway_client_secret: Option<String>,
}

impl NextAction {
    pub fn redirect(url: String) -> NextAction {
        NextAction { redirect_url: Some(url), gateway_client_secret: None }
    }

    pub fn gateway_sdk(client_secret: String) -> NextAction {
        NextAction { redirect_url: None, gateway_client_secret: Some(client_secret) }
    }
}

/// `POST /v1/orders/{id}/payments/confirm`: finish a payment after its 3-D
/// Secure challenge, with what the gateway's page sent the shopper back with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfirmPaymentRequest {
    pub client_secret: ClientSecret,
    /// Square style: the `verification_token` the verification page returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification_token: Option<String>,
}

/// `POST /v1/orders/{id}/hosted-session`: pay on the gateway's own page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostedSessionRequest {
    pub client_secret: ClientSecret,
    /// Where the gateway sends the shopper back: a page on one of the store's
    /// allowed origins. Paylet adds `paylet_order` and `paylet_return`
    /// (`success` or `cancel`) to it.
    pub return_url: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostedSessionResponse {
    pub order_id: OrderId,
    /// The gateway's page, to send the shopper to.
    pub url: String,
}
