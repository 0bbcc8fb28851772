//! Square-style objects the sandbox keeps, and their JSON as Square shows it.

use std::collections::BTreeMap;

use paylet_card::Brand;
use paylet_secret::Secret;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::bounded::Bounded;
use crate::cards::StoredCard;
use crate::ids::rfc3339;

#[derive(Serialize, Deserialize)]
pub(crate) struct SquareObjects {
    pub nonces: Bounded<Nonce>,
    /// `verf:…` tokens from passed buyer verifications, by token.
    pub verifications: Bounded<Verification>,
    pub payments: Bounded<Payment>,
    pub refunds: Bounded<Refund>,
    pub orders: Bounded<Order>,
    pub payment_links: Bounded<PaymentLink>,
    pub subscriptions: BTreeMap<String, Subscription>,
}

impl SquareObjects {
    pub(crate) fn new(capacity: usize) -> SquareObjects {
        SquareObjects {
            nonces: Bounded::new(capacity),
            verifications: Bounded::new(capacity),
            payments: Bounded::new(capacity),
            refunds: Bounded::new(capacity),
            orders: Bounded::new(capacity),
            payment_links: Bounded::new(capacity),
            subscriptions: BTreeMap::new(),
        }
    }

    /// When the next pending refund settles (ms).
    pub(crate) fn next_settlement(&self) -> Option<i64> {
        self.refunds.values().filter_map(|r| r.settle_at_ms).min()
    }
}

#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct Nonce {
    pub id: String,
    pub account_id: String,
    pub card: StoredCard,
    pub postal_code: Option<String>,
    pub used: bool,
}

#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct Verification {
    pub token: String,
    pub account_id: String,
    pub nonce: String,
}

pub(crate) fn money(amount: i64, currency: &str) -> Value {
    json!({ "amount": amount, "currency": currency })
}

pub(crate) fn card_brand(card: &StoredCard) -> &'static str {
    match card.brand {
        Some(Brand::Visa) => "VISA",
        Some(Brand::Mastercard) => "MASTERCARD",
        Some(Brand::Amex) => "AMERICAN_EXPRESS",
        Some(Brand::Discover) => "DISCOVER",
        Some(Brand::DinersClub) => "DISCOVER_DINERS",
        Some(Brand::Jcb) => "JCB",
        Some(Brand::UnionPay) => "CHINA_UNIONPAY",
        None => "OTHER_BRAND",
    }
}

#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct Payment {
    pub id: String,
    pub account_id: String,
    pub application_id: String,
    pub location_id: String,
    pub amount: i64,
    pub currency: String,
    /// `APPROVED`, `COMPLETED`, `CANCELED` or `FAILED`.
    pub status: String,
    pub card: StoredCard,
    pub reference_id: Option<String>,
    pub note: Option<String>,
    pub order_id: Option<String>,
    pub buyer_email_address: Option<String>,
    pub refunded: i64,
    pub refund_ids: Vec<String>,
    /// The decline, for a FAILED payment.
    pub error_code: Option<String>,
    pub created_ms: i64,
    pub updated_ms: i64,
    pub version: u32,
}

impl Payment {
    pub(crate) fn card_status(&self) -> &'static str {
        match self.status.as_str() {
            "COMPLETED" => "CAPTURED",
            "APPROVED" => "AUTHORIZED",
            "CANCELED" => "VOIDED",
            _ => "FAILED",
        }
    }

    pub(crate) fn to_json(&self) -> Value {
        let c = &self.card;
        let failed = self.status == "FAILED";
        let approved = if failed { 0 } else { self.amount };
        let error = self.error_code.as_ref().map(|code| {
            json!([{ "category": "PAYMENT_METHOD_ERROR", "code": code, "detail": format!("Authorization error: '{code}'") }])
        });
        let mut card_details = json!({
            "status": self.card_status(),
            "card": {
                "card_brand": card_brand(c), "last_4": c.last4, "exp_month": c.exp_month, "exp_year": c.exp_year,
                "fingerprint": format!("sq-1-{}", c.fingerprint), "card_type": "CREDIT", "prepaid_type": "NOT_PREPAID",
                "bin": c.bin,
            },
            "entry_method": "KEYED",
            "cvv_status": if error.is_some() && self.error_code.as_deref() == Some("CVV_FAILURE") { "CVV_REJECTED" } else { "CVV_ACCEPTED" },
            "avs_status": if self.error_code.as_deref() == Some("ADDRESS_VERIFICATION_FAILURE") { "AVS_REJECTED" } else { "AVS_ACCEPTED" },
            "statement_description": "SQ *PAYLET SANDBOX",
            "card_payment_timeline": {
                "authorized_at": rfc3339(self.created_ms),
                "captured_at": (self.status == "COMPLETED").then(|| rfc3339(self.updated_ms)),
            },
        });
        if let Some(errors) = &error {
            card_details["errors"] = errors.clone();
        }
        let mut payment = json!({
            "id": self.id,
            "created_at": rfc3339(self.created_ms),
            "updated_at": rfc3339(self.updated_ms),
            "amount_money": money(self.amount, &self.currency),
            "total_money": money(self.amount, &self.currency),
            "approved_money": money(approved, &self.currency),
            "status": self.status,
            "delay_duration": "PT168H",
            "delay_action": "CANCEL",
            "delayed_until": rfc3339(self.created_ms + 7 * 24 * 3600 * 1000),
            "source_type": "CARD",
            "card_details": card_details,
            "location_id": self.location_id,
            "risk_evaluation": { "created_at": rfc3339(self.created_ms), "risk_level": "NORMAL" },
            "application_details": { "square_product": "ECOMMERCE_API", "application_id": self.application_id },
            "version_token": format!("{}v{}", &self.id[..8.min(self.id.len())], self.version),
        });
        let optional = [
            ("reference_id", self.reference_id.clone()),
            ("note", self.note.clone()),
            ("order_id", self.order_id.clone()),
            ("buyer_email_address", self.buyer_email_address.clone()),
        ];
        for (key, value) in optional {
            if let Some(v) = value {
                payment[key] = v.into();
            }
        }
        if self.status == "COMPLETED" {
            payment["receipt_number"] = self.id[..4.min(self.id.len())].into();
            payment["receipt_url"] = format!("https://squareupsandbox.com/receipt/preview/{}", self.id).into();
        }
        if self.refunded > 0 || !self.refund_ids.is_empty() {
            payment["refunded_money"] = money(self.refunded, &self.currency);
            payment["refund_ids"] = json!(self.refund_ids);
        }
        payment
    }
}

#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct Refund {
    pub id: String,
    pub account_id: String,
    pub payment_id: String,
    pub location_id: String,
    pub order_id: Option<String>,
    pub amount: i64,
    pub currency: String,
    /// `PENDING`, then `COMPLETED`.
    pub status: String,
    pub reason: Option<String>,
    pub created_ms: i64,
    pub updated_ms: i64,
    /// When a `PENDING` refund completes.
    pub settle_at_ms: Option<i64>,
}

impl Refund {
    pub(crate) fn to_json(&self) -> Value {
        let mut r = json!({
            "id": self.id,
            "status": self.status,
            "location_id": self.location_id,
            "amount_money": money(self.amount, &self.currency),
            "payment_id": self.payment_id,
            "created_at": rfc3339(self.created_ms),
            "updated_at": rfc3339(self.updated_ms),
            "destination_type": "CARD",
        });
        if let Some(reason) = &self.reason {
            r["reason"] = reason.as_str().into();
        }
        if let Some(order) = &self.order_id {
            r["order_id"] = order.as_str().into();
        }
        r
    }
}

#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct OrderLine {
    pub uid: String,
    pub name: String,
    pub quantity: i64,
    pub unit_amount: i64,
}

#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct Order {
    pub id: String,
    pub account_id: String,
    pub location_id: String,
    pub reference_id: Option<String>,
    pub currency: String,
    pub lines: Vec<OrderLine>,
    /// `DRAFT` until paid, then `OPEN`.
    pub state: String,
    /// The payment that paid it, shown as the order's tender.
    #[serde(default)]
    pub payment_id: Option<String>,
    pub created_ms: i64,
    pub updated_ms: i64,
    pub version: u32,
}

impl Order {
    pub(crate) fn total(&self) -> i64 {
        self.lines.iter().map(|l| l.unit_amount.saturating_mul(l.quantity)).fold(0, i64::saturating_add)
    }

    pub(crate) fn to_json(&self) -> Value {
        let m = |a: i64| money(a, &self.currency);
        let lines: Vec<Value> = self
            .lines
            .iter()
            .map(|l| {
                let total = l.unit_amount.saturating_mul(l.quantity);
                json!({
                    "uid": l.uid, "name": l.name, "quantity": l.quantity.to_string(), "item_type": "ITEM",
                    "base_price_money": m(l.unit_amount), "variation_total_price_money": m(total),
                    "gross_sales_money": m(total), "total_tax_money": m(0), "total_discount_money": m(0),
                    "total_money": m(total),
                })
            })
            .collect();
        let mut order = json!({
            "id": self.id,
            "location_id": self.location_id,
            "source": { "name": "Paylet Sandbox" },
            "line_items": lines,
            "net_amounts": { "total_money": m(self.total()), "tax_money": m(0), "discount_money": m(0),
                             "tip_money": m(0), "service_charge_money": m(0) },
            "created_at": rfc3339(self.created_ms),
            "updated_at": rfc3339(self.updated_ms),
            "state": self.state,
            "version": self.version,
            "total_money": m(self.total()),
            "total_tax_money": m(0),
            "total_discount_money": m(0),
            "total_tip_money": m(0),
            "total_service_charge_money": m(0),
        });
        if let Some(r) = &self.reference_id {
            order["reference_id"] = r.as_str().into();
        }
        if let Some(payment) = &self.payment_id {
            order["tenders"] = json!([{
                "id": payment, "location_id": self.location_id, "type": "CARD", "payment_id": payment,
                "amount_money": m(self.total()),
            }]);
        }
        order
    }
}

#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct PaymentLink {
    pub id: String,
    pub account_id: String,
    pub order_id: String,
    pub url: String,
    pub redirect_url: Option<String>,
    pub description: Option<String>,
    pub payment_note: Option<String>,
    pub buyer_email: Option<String>,
    pub created_ms: i64,
}

impl PaymentLink {
    pub(crate) fn to_json(&self) -> Value {
        let mut link = json!({
            "id": self.id,
            "version": 1,
            "description": self.description.clone().unwrap_or_default(),
            "order_id": self.order_id,
            "url": self.url,
            "long_url": self.url,
            "created_at": rfc3339(self.created_ms),
        });
        if let Some(r) = &self.redirect_url {
            link["checkout_options"] = json!({ "redirect_url": r });
        }
        if let Some(n) = &self.payment_note {
            link["payment_note"] = n.as_str().into();
        }
        link
    }
}

#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct Subscription {
    pub id: String,
    pub account_id: String,
    pub name: String,
    pub event_types: Vec<String>,
    pub notification_url: String,
    pub api_version: String,
    #[serde(with = "paylet_secret::expose")]
    pub signature_key: Secret,
    pub enabled: bool,
    pub created_ms: i64,
    pub updated_ms: i64,
}

impl Subscription {
    pub(crate) fn wants(&self, event_type: &str) -> bool {
        self.event_types.iter().any(|t| t == event_type)
    }

    /// Square shows the signature key only when the subscription is created.
    pub(crate) fn to_json(&self, with_key: bool) -> Value {
        let mut s = json!({
            "id": self.id,
            "name": self.name,
            "enabled": self.enabled,
            "event_types": self.event_types,
            "notification_url": self.notification_url,
            "api_version": self.api_version,
            "created_at": rfc3339(self.created_ms),
            "updated_at": rfc3339(self.updated_ms),
        });
        if with_key {
            s["signature_key"] = self.signature_key.expose().as_str().into();
        }
        s
    }
}

crate::owned::owned!(Nonce, Verification, Payment, Refund, Order, PaymentLink, Subscription);
