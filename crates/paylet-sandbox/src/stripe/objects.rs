//! Stripe-style objects the sandbox keeps, and their JSON as Stripe shows them.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Value, json};

use crate::cards::StoredCard;

#[derive(Default)]
pub(crate) struct StripeObjects {
    pub tokens: HashMap<String, Token>,
    pub payment_methods: HashMap<String, PaymentMethod>,
    pub payment_intents: HashMap<String, PaymentIntent>,
}

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
        json!({
            "id": self.id,
            "object": "token",
            "card": card_json(&self.card_id, &self.card, self.address_zip.as_deref()),
            "client_ip": self.client_ip,
            "created": self.created,
            "livemode": false,
            "type": "card",
            "used": self.used,
        })
    }
}

pub(crate) struct PaymentMethod {
    pub id: String,
    pub account_id: String,
    pub card: StoredCard,
    pub created: i64,
}

impl PaymentMethod {
    pub(crate) fn to_json(&self) -> Value {
        let c = &self.card;
        json!({
            "id": self.id,
            "object": "payment_method",
            "type": "card",
            "card": {
                "brand": c.stripe_brand().to_lowercase(),
                "exp_month": c.exp_month,
                "exp_year": c.exp_year,
                "last4": c.last4,
                "funding": "credit",
                "country": "US",
            },
            "created": self.created,
            "livemode": false,
            "metadata": {},
        })
    }
}

fn card_json(id: &str, c: &StoredCard, address_zip: Option<&str>) -> Value {
    json!({
        "id": id,
        "object": "card",
        "address_zip": address_zip,
        "brand": c.stripe_brand(),
        "country": "US",
        "cvc_check": "unchecked",
        "exp_month": c.exp_month,
        "exp_year": c.exp_year,
        "funding": "credit",
        "last4": c.last4,
        "metadata": {},
    })
}

/// PaymentIntent statuses, spelled as Stripe spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IntentStatus {
    RequiresPaymentMethod,
    RequiresConfirmation,
    RequiresAction,
    Succeeded,
}

impl IntentStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            IntentStatus::RequiresPaymentMethod => "requires_payment_method",
            IntentStatus::RequiresConfirmation => "requires_confirmation",
            IntentStatus::RequiresAction => "requires_action",
            IntentStatus::Succeeded => "succeeded",
        }
    }
}

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
}

impl PaymentIntent {
    pub(crate) fn to_json(&self) -> Value {
        let received = if self.status == IntentStatus::Succeeded { self.amount } else { 0 };
        json!({
            "id": self.id,
            "object": "payment_intent",
            "amount": self.amount,
            "amount_capturable": 0,
            "amount_received": received,
            "capture_method": "automatic",
            "client_secret": self.client_secret,
            "confirmation_method": "automatic",
            "created": self.created,
            "currency": self.currency,
            "description": self.description,
            "last_payment_error": self.last_payment_error,
            "latest_charge": self.latest_charge,
            "livemode": false,
            "metadata": self.metadata,
            "next_action": self.next_action,
            "payment_method": self.payment_method,
            "payment_method_types": ["card"],
            "status": self.status.as_str(),
        })
    }
}
