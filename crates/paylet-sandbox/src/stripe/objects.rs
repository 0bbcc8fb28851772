//! Stripe-style objects the sandbox keeps, and their JSON as Stripe shows it.

use std::collections::BTreeMap;

use paylet_secret::Secret;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::bounded::Bounded;
use crate::cards::StoredCard;
use crate::ids::random_suffix;

#[derive(Serialize, Deserialize)]
pub(crate) struct StripeObjects {
    pub tokens: Bounded<Token>,
    pub payment_methods: Bounded<PaymentMethod>,
    pub payment_intents: Bounded<PaymentIntent>,
    pub charges: Bounded<Charge>,
    pub refunds: Bounded<Refund>,
    pub checkout_sessions: Bounded<CheckoutSession>,
    pub events: Bounded<Event>,
    pub webhook_endpoints: BTreeMap<String, WebhookEndpoint>,
}

impl StripeObjects {
    pub(crate) fn new(capacity: usize) -> StripeObjects {
        StripeObjects {
            tokens: Bounded::new(capacity),
            payment_methods: Bounded::new(capacity),
            payment_intents: Bounded::new(capacity),
            charges: Bounded::new(capacity),
            refunds: Bounded::new(capacity),
            checkout_sessions: Bounded::new(capacity),
            events: Bounded::new(capacity),
            webhook_endpoints: BTreeMap::new(),
        }
    }
}

#[derive(Serialize, Deserialize)]
pub(crate) struct Token {
    pub id: String,
    pub account_id: String,
    pub card_id: String,
    pub card: StoredCard,
    pub address_zip: Option<String>,
    pub client_ip: Option<String>,
    pub created: i64,
    pub used: bool,
}

impl Token {
    pub(crate) fn to_json(&self) -> Value {
        let c = &self.card;
        json!({
            "id": self.id,
            "object": "token",
            "card": {
                "id": self.card_id,
                "object": "card",
                "address_city": null, "address_country": null, "address_line1": null,
                "address_line1_check": null, "address_line2": null, "address_state": null,
                "address_zip": self.address_zip,
                "address_zip_check": self.address_zip.as_ref().map(|_| "unchecked"),
                "brand": c.stripe_brand(),
                "country": "US",
                "cvc_check": "unchecked",
                "dynamic_last4": null,
                "exp_month": c.exp_month,
                "exp_year": c.exp_year,
                "fingerprint": c.fingerprint,
                "funding": "credit",
                "last4": c.last4,
                "metadata": {},
                "name": null,
                "tokenization_method": null,
            },
            "client_ip": self.client_ip,
            "created": self.created,
            "livemode": false,
            "type": "card",
            "used": self.used,
        })
    }
}

#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct PaymentMethod {
    pub id: String,
    pub account_id: String,
    pub card: StoredCard,
    pub postal_code: Option<String>,
    pub created: i64,
}

impl PaymentMethod {
    pub(crate) fn to_json(&self) -> Value {
        let c = &self.card;
        json!({
            "id": self.id,
            "object": "payment_method",
            "billing_details": {
                "address": { "city": null, "country": null, "line1": null, "line2": null,
                             "postal_code": self.postal_code, "state": null },
                "email": null, "name": null, "phone": null,
            },
            "card": {
                "brand": c.stripe_brand_id(),
                "checks": { "address_line1_check": null, "address_postal_code_check": null, "cvc_check": "unchecked" },
                "country": "US",
                "display_brand": c.stripe_brand_id(),
                "exp_month": c.exp_month,
                "exp_year": c.exp_year,
                "fingerprint": c.fingerprint,
                "funding": "credit",
                "last4": c.last4,
                "networks": { "available": [c.stripe_brand_id()], "preferred": null },
                "three_d_secure_usage": { "supported": true },
                "wallet": null,
            },
            "created": self.created,
            "customer": null,
            "livemode": false,
            "metadata": {},
            "type": "card",
        })
    }
}

/// PaymentIntent statuses, spelled as Stripe spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum IntentStatus {
    RequiresPaymentMethod,
    RequiresConfirmation,
    RequiresAction,
    Canceled,
    Succeeded,
}

impl IntentStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            IntentStatus::RequiresPaymentMethod => "requires_payment_method",
            IntentStatus::RequiresConfirmation => "requires_confirmation",
            IntentStatus::RequiresAction => "requires_action",
            IntentStatus::Canceled => "canceled",
            IntentStatus::Succeeded => "succeeded",
        }
    }
}

#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct PaymentIntent {
    pub id: String,
    pub account_id: String,
    pub amount: i64,
    /// Lower case, as Stripe returns it.
    pub currency: String,
    pub status: IntentStatus,
    pub client_secret: String,
    pub payment_method: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub description: Option<String>,
    pub created: i64,
    pub latest_charge: Option<String>,
    pub last_payment_error: Option<Value>,
    pub next_action: Option<Value>,
    pub canceled_at: Option<i64>,
    pub cancellation_reason: Option<String>,
    /// Where the 3-D Secure page sends the shopper afterwards.
    pub return_url: Option<String>,
}

impl PaymentIntent {
    pub(crate) fn new(account_id: &str, amount: i64, currency: &str, now: i64) -> PaymentIntent {
        let id = crate::ids::new_id("pi");
        PaymentIntent {
            client_secret: format!("{id}_secret_{}", random_suffix(25)),
            id,
            account_id: account_id.to_owned(),
            amount,
            currency: currency.to_owned(),
            status: IntentStatus::RequiresPaymentMethod,
            payment_method: None,
            metadata: BTreeMap::new(),
            description: None,
            created: now,
            latest_charge: None,
            last_payment_error: None,
            next_action: None,
            canceled_at: None,
            cancellation_reason: None,
            return_url: None,
        }
    }

    pub(crate) fn to_json(&self) -> Value {
        let received = if self.status == IntentStatus::Succeeded { self.amount } else { 0 };
        json!({
            "id": self.id,
            "object": "payment_intent",
            "amount": self.amount,
            "amount_capturable": 0,
            "amount_details": { "tip": {} },
            "amount_received": received,
            "application": null,
            "application_fee_amount": null,
            "automatic_payment_methods": null,
            "canceled_at": self.canceled_at,
            "cancellation_reason": self.cancellation_reason,
            "capture_method": "automatic",
            "client_secret": self.client_secret,
            "confirmation_method": "automatic",
            "created": self.created,
            "currency": self.currency,
            "customer": null,
            "description": self.description,
            "last_payment_error": self.last_payment_error,
            "latest_charge": self.latest_charge,
            "livemode": false,
            "metadata": self.metadata,
            "next_action": self.next_action,
            "payment_method": self.payment_method,
            "payment_method_types": ["card"],
            "processing": null,
            "receipt_email": null,
            "status": self.status.as_str(),
        })
    }
}

#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct Charge {
    pub id: String,
    pub account_id: String,
    pub amount: i64,
    pub amount_refunded: i64,
    pub currency: String,
    pub payment_intent: String,
    pub payment_method: String,
    pub card: StoredCard,
    pub created: i64,
    pub refunds: Vec<String>,
}

impl Charge {
    /// The charge as Stripe renders it since API version 2022-11-15: its
    /// `refunds` only when asked for (`expand[]=refunds`), never in events.
    pub(crate) fn to_json(&self, refunds: Option<&[Value]>) -> Value {
        let c = &self.card;
        let mut json = json!({
            "id": self.id,
            "object": "charge",
            "amount": self.amount,
            "amount_captured": self.amount,
            "amount_refunded": self.amount_refunded,
            "balance_transaction": null,
            "captured": true,
            "created": self.created,
            "currency": self.currency,
            "disputed": false,
            "failure_code": null,
            "failure_message": null,
            "livemode": false,
            "metadata": {},
            "outcome": { "network_status": "approved_by_network", "reason": null, "risk_level": "normal",
                         "seller_message": "Payment complete.", "type": "authorized" },
            "paid": true,
            "payment_intent": self.payment_intent,
            "payment_method": self.payment_method,
            "payment_method_details": {
                "card": { "brand": c.stripe_brand_id(), "country": "US", "exp_month": c.exp_month,
                          "exp_year": c.exp_year, "fingerprint": c.fingerprint, "funding": "credit",
                          "last4": c.last4, "network": c.stripe_brand_id() },
                "type": "card",
            },
            "refunded": self.amount_refunded >= self.amount,
            "status": "succeeded",
        });
        if let Some(refunds) = refunds {
            json["refunds"] = json!({ "object": "list", "data": refunds, "has_more": false,
                "total_count": refunds.len(), "url": format!("/v1/charges/{}/refunds", self.id) });
        }
        json
    }
}

#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct Refund {
    pub id: String,
    pub account_id: String,
    pub amount: i64,
    pub charge: String,
    pub currency: String,
    pub payment_intent: String,
    pub reason: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub created: i64,
}

impl Refund {
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "object": "refund",
            "amount": self.amount,
            "balance_transaction": null,
            "charge": self.charge,
            "created": self.created,
            "currency": self.currency,
            "metadata": self.metadata,
            "payment_intent": self.payment_intent,
            "reason": self.reason,
            "receipt_number": null,
            "status": "succeeded",
        })
    }
}

#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct LineItem {
    pub name: String,
    pub unit_amount: i64,
    pub quantity: i64,
}

#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct CheckoutSession {
    pub id: String,
    pub account_id: String,
    pub currency: String,
    pub line_items: Vec<LineItem>,
    pub amount_total: i64,
    pub success_url: String,
    pub cancel_url: Option<String>,
    pub client_reference_id: Option<String>,
    pub customer_email: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub payment_intent_metadata: BTreeMap<String, String>,
    /// `open`, `complete` or `expired`.
    pub status: String,
    pub payment_intent: Option<String>,
    pub created: i64,
    pub expires_at: i64,
    /// The hosted page, `{sandbox}/hosted/checkout/{id}`.
    pub url: String,
}

impl CheckoutSession {
    pub(crate) fn to_json(&self) -> Value {
        let paid = self.status == "complete";
        json!({
            "id": self.id,
            "object": "checkout.session",
            "amount_subtotal": self.amount_total,
            "amount_total": self.amount_total,
            "cancel_url": self.cancel_url,
            "client_reference_id": self.client_reference_id,
            "created": self.created,
            "currency": self.currency,
            "customer": null,
            "customer_email": self.customer_email,
            "expires_at": self.expires_at,
            "livemode": false,
            "metadata": self.metadata,
            "mode": "payment",
            "payment_intent": self.payment_intent,
            "payment_method_types": ["card"],
            "payment_status": if paid { "paid" } else { "unpaid" },
            "status": self.status,
            "success_url": self.success_url,
            "total_details": { "amount_discount": 0, "amount_shipping": 0, "amount_tax": 0 },
            "url": (self.status == "open").then_some(&self.url),
        })
    }
}

#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct Event {
    pub id: String,
    pub account_id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub created: i64,
    pub object: Value,
    pub pending_webhooks: usize,
    pub idempotency_key: Option<String>,
}

impl Event {
    /// As the account's version renders it (`GET /v1/events`).
    pub(crate) fn to_json(&self) -> Value {
        self.in_version(super::API_VERSION, &self.object)
    }

    /// As an endpoint on `version` gets it, its object rendered in that version.
    pub(crate) fn in_version(&self, version: &str, object: &Value) -> Value {
        json!({
            "id": self.id,
            "object": "event",
            "api_version": version,
            "created": self.created,
            "data": { "object": object },
            "livemode": false,
            "pending_webhooks": self.pending_webhooks,
            "request": { "id": null, "idempotency_key": self.idempotency_key },
            "type": self.kind,
        })
    }
}

#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct WebhookEndpoint {
    pub id: String,
    pub account_id: String,
    pub url: String,
    pub enabled_events: Vec<String>,
    #[serde(with = "paylet_secret::expose")]
    pub secret: Secret,
    /// The rolled-over secret and when it stops signing (ms).
    #[serde(default)]
    pub previous: Option<PreviousSecret>,
    pub disabled: bool,
    pub description: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub created: i64,
    /// The version its events are rendered in: the one it was created with,
    /// or the account's (the sandbox's [`super::API_VERSION`]).
    #[serde(default)]
    pub api_version: Option<String>,
}

#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct PreviousSecret {
    #[serde(with = "paylet_secret::expose")]
    pub secret: Secret,
    pub expires_ms: i64,
}

pub(crate) fn new_webhook_secret() -> Secret {
    Secret::new(format!("whsec_{}", random_suffix(32)))
}

impl WebhookEndpoint {
    pub(crate) fn enabled(&self) -> bool {
        !self.disabled
    }

    pub(crate) fn wants(&self, event_type: &str) -> bool {
        self.enabled_events.iter().any(|e| e == "*" || e == event_type)
    }

    /// The secrets that sign now: the current one, and the previous one during
    /// a roll-over.
    pub(crate) fn signing_secrets(&self, now_ms: i64) -> Vec<&Secret> {
        let mut secrets = vec![&self.secret];
        if let Some(p) = self.previous.as_ref().filter(|p| p.expires_ms > now_ms) {
            secrets.push(&p.secret);
        }
        secrets
    }

    pub(crate) fn roll_secret(&mut self, previous_expires_ms: i64) -> Secret {
        let new = new_webhook_secret();
        let old = std::mem::replace(&mut self.secret, new.clone());
        self.previous = Some(PreviousSecret { secret: old, expires_ms: previous_expires_ms });
        new
    }

    /// Without `secret`: Stripe shows it only when the endpoint is created.
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "object": "webhook_endpoint",
            "api_version": self.api_version,
            "application": null,
            "created": self.created,
            "description": self.description,
            "enabled_events": self.enabled_events,
            "livemode": false,
            "metadata": self.metadata,
            "status": if self.disabled { "disabled" } else { "enabled" },
            "url": self.url,
        })
    }
}

crate::owned::owned!(Token, PaymentMethod, PaymentIntent, Charge, Refund, CheckoutSession, Event, WebhookEndpoint);
