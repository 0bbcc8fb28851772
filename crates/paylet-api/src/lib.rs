//! The JSON the widget and the server exchange. Both sides compile these types,
//! so a field renamed on one side fails to build on the other.

pub mod address;
mod error;
mod ids;
mod money;
mod order;
mod store;

pub use address::Address;
pub use error::{ErrorBody, ErrorDetail, ErrorType};
pub use ids::{ClientSecret, IdError, OrderId, StoreId};
pub use money::{Currency, Money, MoneyError};
pub use order::{
    CheckoutSessionView, ConfirmPaymentRequest, CreateOrderRequest, CustomerInput, Decline, HostedSessionRequest,
    HostedSessionResponse, LineItemInput, NextAction, Order, OrderLine, OrderStatus, PayRequest, PaymentResult,
};
pub use store::{CardFields, CatalogItem, CheckoutConfig, GatewayStyle, PaymentMethod, PublicGatewayConfig};

/// The header that carries an idempotency key, as Stripe and the IETF draft name it.
pub const IDEMPOTENCY_KEY_HEADER: &str = "Idempotency-Key";
