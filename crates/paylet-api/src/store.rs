use serde::{Deserialize, Serialize};

use crate::{Currency, Money, StoreId};

/// `GET /v1/stores/{store}/checkout-config`: everything the widget needs before
/// the shopper types, and nothing secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutConfig {
    pub store_id: StoreId,
    pub store_name: String,
    pub currency: Currency,
    /// The ways this store takes payment.
    pub payment_methods: Vec<PaymentMethod>,
    /// Origins allowed to embed the widget; it talks to no other parent page.
    pub allowed_origins: Vec<String>,
    pub gateway: PublicGatewayConfig,
    pub catalog: Vec<CatalogItem>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    /// Card fields in the widget, tokenized at the gateway.
    Card,
    /// The gateway's hosted payment page.
    Hosted,
}

impl PaymentMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentMethod::Card => "card",
            PaymentMethod::Hosted => "hosted",
        }
    }

    pub fn parse(s: &str) -> Option<PaymentMethod> {
        match s {
            "card" => Some(PaymentMethod::Card),
            "hosted" => Some(PaymentMethod::Hosted),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GatewayStyle {
    Stripe,
    Square,
}

impl GatewayStyle {
    pub fn as_str(self) -> &'static str {
        match self {
            GatewayStyle::Stripe => "stripe",
            GatewayStyle::Square => "square",
        }
    }

    pub fn parse(s: &str) -> Option<GatewayStyle> {
        match s {
            "stripe" => Some(GatewayStyle::Stripe),
            "square" => Some(GatewayStyle::Square),
            _ => None,
        }
    }
}

/// Whose card inputs the shopper types into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardFields {
    /// The gateway's own browser SDK (Stripe.js, Square's Web Payments SDK),
    /// mounted in the Paylet frame: the card goes into the gateway's frames.
    Gateway,
    /// Paylet's inputs, posting to the gateway's tokenization endpoint with
    /// the public key: the sandbox, and accounts enabled for raw card tokens.
    Paylet,
}

impl CardFields {
    pub fn as_str(self) -> &'static str {
        match self {
            CardFields::Gateway => "gateway",
            CardFields::Paylet => "paylet",
        }
    }

    pub fn parse(s: &str) -> Option<CardFields> {
        match s {
            "gateway" => Some(CardFields::Gateway),
            "paylet" => Some(CardFields::Paylet),
            _ => None,
        }
    }
}

/// What the browser needs to tokenize a card at the gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicGatewayConfig {
    pub style: GatewayStyle,
    /// The gateway's display name for the shopper ("Stripe", "Square", "Paylet Sandbox").
    pub name: String,
    /// Publishable key (Stripe style) or application id (Square style): public by design.
    pub public_key: String,
    /// Base URL of the gateway's browser-facing API, e.g. `https://api.stripe.com`.
    pub api_base: String,
    pub card_fields: CardFields,
    /// With `gateway` card fields: the URL of the gateway's browser SDK.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sdk_url: Option<String>,
    /// Square style: the seller's location, which the Web Payments SDK takes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogItem {
    pub sku: String,
    pub name: String,
    pub price: Money,
}
