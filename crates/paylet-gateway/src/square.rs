//! The Square-style protocol: JSON requests with the idempotency key in the
//! body, bearer access token, Payments, payment links, refunds and
//! `x-square-hmacsha256-signature` webhooks.
//!
//! Buyer verification (3-D Secure): Square's Web Payments SDK verifies the
//! buyer in the browser before the charge. Here a charge that needs it is
//! declined with `CARD_DECLINED_VERIFICATION_REQUIRED`, the shopper passes the
//! gateway's verification page, and [`Gateway::confirm`] charges again with the
//! `verification_token` it returns: the sandbox's way, for Paylet's own card
//! fields. With the gateway's card fields the SDK's `verifyBuyer` runs before
//! the charge, which carries its token.

use async_trait::async_trait;
use paylet_api::{Currency, GatewayStyle, Money};
use paylet_secret::Secret;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::event::{header, malformed};
use crate::http::{Reply, parse, send};
use crate::{
    BrowserSdk, Change, ChargeRequest, ConfirmRequest, DeclineCode, Gateway, GatewayError, GatewayEvent, HostedRequest,
    HostedSession, PaymentNews, RefundOutcome, RefundRequest, RefundState, RefundUpdate, ShopperAction,
    WebhookEndpoint, WebhookError, WebhookRequest,
};

const EVENTS: [&str; 4] = ["payment.created", "payment.updated", "refund.created", "refund.updated"];
const VERIFICATION_REQUIRED: &str = "CARD_DECLINED_VERIFICATION_REQUIRED";

pub struct SquareGateway {
    http: reqwest::Client,
    base_url: String,
    access_token: Secret,
    /// The seller's location: payment links need one; charges default to the main one.
    location_id: Option<String>,
}

impl SquareGateway {
    pub fn new(http: reqwest::Client, base_url: &str, access_token: Secret, location_id: Option<String>) -> Self {
        SquareGateway { http, base_url: base_url.trim_end_matches('/').to_owned(), access_token, location_id }
    }

    async fn post(&self, path: &str, body: &Value) -> Result<Reply, GatewayError> {
        let url = format!("{}{path}", self.base_url);
        send(|| self.http.post(&url).bearer_auth(self.access_token.expose()).json(body)).await
    }

    async fn get(&self, path: &str) -> Result<Value, GatewayError> {
        let url = format!("{}{path}", self.base_url);
        let reply = send(|| self.http.get(&url).bearer_auth(self.access_token.expose())).await?;
        ok_body(reply)
    }

    async fn create_payment(
        &self,
        request: &ChargeRequest<'_>,
        idempotency_key: &str,
        verification_token: Option<&str>,
    ) -> Result<PaymentNews, GatewayError> {
        let mut body = json!({
            "source_id": request.token,
            "idempotency_key": idempotency_key,
            "amount_money": money(request.amount),
            "reference_id": request.reference,
            "autocomplete": true,
        });
        if let Some(location) = &self.location_id {
            body["location_id"] = location.as_str().into();
        }
        if let Some(token) = verification_token {
            body["verification_token"] = token.into();
        }
        let reply = self.post("/v2/payments", &body).await?;
        if reply.status.is_success() {
            let payment: Payment = field(parse(&reply.body)?, "payment")?;
            return match payment.news() {
                news @ (PaymentNews::Succeeded { .. } | PaymentNews::Declined { .. }) => Ok(news),
                _ => Err(GatewayError::Protocol(format!("a new payment in state {}", payment.status))),
            };
        }
        let failure: Failure = parse(&reply.body)?;
        let error = failure.errors.into_iter().next().unwrap_or_default();
        // With the Web Payments SDK the browser verified the buyer before
        // the charge; a card that still wants it failed that verification.
        if error.code == VERIFICATION_REQUIRED && verification_token.is_none() && !request.browser_sdk {
            let back = encode(request.return_url);
            let redirect_url = format!("{}/hosted/square/verify/{}?return_url={back}", self.base_url, request.token);
            return Ok(PaymentNews::RequiresAction {
                payment_id: None,
                next: Some(ShopperAction::Redirect(redirect_url)),
            });
        }
        if error.category == "PAYMENT_METHOD_ERROR" {
            return Ok(PaymentNews::Declined {
                payment_id: failure.payment.map(|p| p.id),
                code: DeclineCode::from_square(&error.code),
            });
        }
        Err(GatewayError::Rejected { code: error.code, message: error.detail })
    }
}

/// Square's own API, and its sandbox's.
pub const API: &str = "https://connect.squareup.com";
pub const SANDBOX_API: &str = "https://connect.squareupsandbox.com";

/// Square's Web Payments SDK for Square's own APIs (production, and its
/// sandbox, which has its own CDN), with the origins Square's CSP guide lists,
/// and Cardinal's, whose 3-D Secure frame `verifyBuyer` opens; for any other
/// API (Paylet's sandbox) its stand-in.
pub fn browser_sdk(api_origin: &str) -> BrowserSdk {
    let (name, cdn, pci) = match api_origin {
        API => ("Square's Web Payments SDK, its card", "https://web.squarecdn.com", "https://pci-connect.squareup.com"),
        SANDBOX_API => (
            "Square's Web Payments SDK (Square's sandbox), its card",
            "https://sandbox.web.squarecdn.com",
            "https://pci-connect.squareupsandbox.com",
        ),
        _ => return BrowserSdk::stand_in(api_origin, "/js/square/v1/square.js"),
    };
    BrowserSdk::official(
        name,
        &format!("{cdn}/v1/square.js"),
        &[cdn],
        &[cdn, "https://geoissuer.cardinalcommerce.com"],
        &[cdn, pci],
    )
}

#[async_trait]
impl Gateway for SquareGateway {
    fn style(&self) -> GatewayStyle {
        GatewayStyle::Square
    }

    async fn charge(&self, request: ChargeRequest<'_>) -> Result<PaymentNews, GatewayError> {
        self.create_payment(&request, request.idempotency_key, request.verification_token).await
    }

    /// Charges again with the verification token; a shopper who failed the
    /// verification brings none back, and the card stays declined.
    async fn confirm(&self, request: ConfirmRequest<'_>) -> Result<PaymentNews, GatewayError> {
        let Some(token) = request.verification_token else {
            return Ok(PaymentNews::Declined { payment_id: None, code: DeclineCode::AuthenticationFailed });
        };
        // The declined first call is stored under the first key.
        let key = format!("{}-verified", request.charge.idempotency_key);
        self.create_payment(&request.charge, &key, Some(token)).await
    }

    async fn payment(&self, payment_id: &str) -> Result<PaymentNews, GatewayError> {
        let payment: Payment = field(self.get(&format!("/v2/payments/{payment_id}")).await?, "payment")?;
        Ok(payment.news())
    }

    /// A payment link for the order; the session id is the link's Square
    /// order, which the payment's events name.
    async fn create_hosted(&self, request: HostedRequest<'_>) -> Result<HostedSession, GatewayError> {
        let location = self.location_id.as_deref().ok_or_else(|| GatewayError::Rejected {
            code: "location_required".into(),
            message: "Square payment links need the store's location id".into(),
        })?;
        let lines: Vec<Value> = request
            .lines
            .iter()
            .map(|l| json!({ "name": l.name, "quantity": l.quantity.to_string(), "base_price_money": money(l.unit_price) }))
            .collect();
        let mut body = json!({
            "idempotency_key": request.idempotency_key,
            "order": { "location_id": location, "reference_id": request.reference, "line_items": lines },
            "checkout_options": { "redirect_url": request.success_url },
        });
        if let Some(email) = request.customer_email {
            body["pre_populated_data"] = json!({ "buyer_email": email });
        }
        let link: PaymentLink =
            field(ok_body(self.post("/v2/online-checkout/payment-links", &body).await?)?, "payment_link")?;
        Ok(HostedSession { id: link.order_id, url: link.url, link_id: Some(link.id) })
    }

    async fn hosted_status(&self, session_id: &str) -> Result<PaymentNews, GatewayError> {
        let order: Order = field(self.get(&format!("/v2/orders/{session_id}")).await?, "order")?;
        let paid_with = order.tenders.iter().find_map(|t| t.payment_id.clone());
        Ok(match (order.state.as_str(), paid_with) {
            ("OPEN" | "COMPLETED", Some(payment_id)) => PaymentNews::Succeeded { payment_id },
            ("CANCELED", _) => PaymentNews::Ended,
            _ => PaymentNews::Pending,
        })
    }

    /// Deletes the payment link, which cancels its order; whatever the delete
    /// answered, the order says whether the page can still take money.
    async fn end_hosted(&self, page: &HostedSession) -> Result<PaymentNews, GatewayError> {
        if let Some(link) = &page.link_id {
            let url = format!("{}/v2/online-checkout/payment-links/{link}", self.base_url);
            send(|| self.http.delete(&url).bearer_auth(self.access_token.expose())).await?;
        }
        self.hosted_status(&page.id).await
    }

    /// Square completes a card payment at once (`autocomplete`): none waits at
    /// the gateway for a challenge, which Square runs before the payment
    /// exists. Where the payment stands is the answer.
    async fn cancel_payment(&self, payment_id: &str) -> Result<PaymentNews, GatewayError> {
        self.payment(payment_id).await
    }

    async fn refund(&self, request: RefundRequest<'_>) -> Result<RefundOutcome, GatewayError> {
        let body = json!({
            "idempotency_key": request.idempotency_key,
            "payment_id": request.payment_id,
            "amount_money": money(request.amount),
        });
        let refund: Refund = field(ok_body(self.post("/v2/refunds", &body).await?)?, "refund")?;
        Ok(RefundOutcome { state: refund_state(&refund.status), refund_id: refund.id })
    }

    async fn refund_state(&self, refund_id: &str) -> Result<RefundState, GatewayError> {
        let refund: Refund = field(self.get(&format!("/v2/refunds/{refund_id}")).await?, "refund")?;
        Ok(refund_state(&refund.status))
    }

    /// Square lists no refunds by payment: the payment names them.
    async fn refunds_of(&self, payment_id: &str) -> Result<Vec<RefundUpdate>, GatewayError> {
        let payment: Payment = field(self.get(&format!("/v2/payments/{payment_id}")).await?, "payment")?;
        let mut updates = Vec::new();
        for id in payment.refund_ids {
            let refund: Refund = field(self.get(&format!("/v2/refunds/{id}")).await?, "refund")?;
            updates.extend(refund_update(&refund));
        }
        Ok(updates)
    }

    async fn register_webhook(&self, url: &str, idempotency_key: &str) -> Result<WebhookEndpoint, GatewayError> {
        let body = json!({
            "idempotency_key": idempotency_key,
            "subscription": { "name": "Paylet", "event_types": EVENTS, "notification_url": url },
        });
        let subscription: Subscription =
            field(ok_body(self.post("/v2/webhooks/subscriptions", &body).await?)?, "subscription")?;
        let key = subscription
            .signature_key
            .ok_or_else(|| GatewayError::Protocol("a new subscription without a signature key".into()))?;
        Ok(WebhookEndpoint { id: subscription.id, secret: Secret::new(key) })
    }

    async fn remove_webhook(&self, endpoint_id: &str) -> Result<(), GatewayError> {
        let url = format!("{}/v2/webhooks/subscriptions/{endpoint_id}", self.base_url);
        let reply = send(|| self.http.delete(&url).bearer_auth(self.access_token.expose())).await?;
        ok_body(reply).map(|_| ())
    }
}

/// Checks a webhook's signature and reads the event it carries: no HTTP
/// client needed, so verifying never waits on the gateway. Square signs no
/// timestamp and retries a delivery for days with the same body, so there is
/// no replay window to check: the event id, stored once, is what stops a
/// replay.
pub fn verify_webhook(request: &WebhookRequest<'_>) -> Result<GatewayEvent, WebhookError> {
    let signature = header(request.headers, "x-square-hmacsha256-signature");
    paylet_webhook::square::verify(signature, request.secrets, request.url, request.body)?;
    let event: Event = serde_json::from_slice(request.body).map_err(malformed)?;
    let change = match event.kind.as_str() {
        // The dashboard's "send test event" names an object without
        // carrying it (`data: {type, id}`): nothing to act on.
        _ if event.data.object.is_null() => Change::Other,
        "payment.created" | "payment.updated" => {
            let payment: Payment = field(event.data.object, "payment").map_err(malformed)?;
            Change::Payment {
                news: payment.news(),
                reference: payment.reference_id,
                hosted_session: payment.order_id,
                payment_id: payment.id,
            }
        }
        "refund.created" | "refund.updated" => {
            let refund: Refund = field(event.data.object, "refund").map_err(malformed)?;
            let update = refund_update(&refund).ok_or_else(|| malformed("a refund without a valid amount"))?;
            Change::Refunds { payment_id: refund.payment_id, refunds: vec![update] }
        }
        _ => Change::Other,
    };
    Ok(GatewayEvent { id: event.event_id, kind: event.kind, change })
}

fn money(m: Money) -> Value {
    json!({ "amount": m.amount(), "currency": m.currency().code() })
}

/// Percent-encodes a query value.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[derive(Debug, Default, Deserialize)]
struct SquareErrorItem {
    #[serde(default)]
    category: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    detail: String,
}

#[derive(Debug, Deserialize)]
struct Failure {
    #[serde(default)]
    errors: Vec<SquareErrorItem>,
    payment: Option<Payment>,
}

#[derive(Debug, Deserialize)]
struct MoneyField {
    amount: i64,
    currency: String,
}

#[derive(Debug, Deserialize)]
struct Payment {
    id: String,
    status: String,
    reference_id: Option<String>,
    order_id: Option<String>,
    card_details: Option<CardDetails>,
    #[serde(default)]
    refund_ids: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct CardDetails {
    #[serde(default)]
    errors: Vec<SquareErrorItem>,
}

impl Payment {
    fn news(&self) -> PaymentNews {
        let payment_id = self.id.clone();
        match self.status.as_str() {
            "COMPLETED" => PaymentNews::Succeeded { payment_id },
            "CANCELED" => PaymentNews::Ended,
            "FAILED" => {
                let code = self.card_details.as_ref().and_then(|c| c.errors.first()).map(|e| e.code.as_str());
                PaymentNews::Declined {
                    payment_id: Some(payment_id),
                    code: DeclineCode::from_square(code.unwrap_or_default()),
                }
            }
            _ => PaymentNews::Pending,
        }
    }
}

#[derive(Debug, Deserialize)]
struct PaymentLink {
    id: String,
    url: String,
    order_id: String,
}

#[derive(Debug, Deserialize)]
struct Order {
    state: String,
    #[serde(default)]
    tenders: Vec<Tender>,
}

#[derive(Debug, Deserialize)]
struct Tender {
    payment_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Refund {
    id: String,
    status: String,
    payment_id: String,
    amount_money: MoneyField,
}

#[derive(Debug, Deserialize)]
struct Subscription {
    id: String,
    signature_key: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Event {
    event_id: String,
    #[serde(rename = "type")]
    kind: String,
    data: EventData,
}

#[derive(Debug, Deserialize)]
struct EventData {
    #[serde(default)]
    object: Value,
}

/// `{"payment": {...}}`-style envelopes.
fn field<T: serde::de::DeserializeOwned>(mut value: Value, name: &str) -> Result<T, GatewayError> {
    serde_json::from_value(value.get_mut(name).map(Value::take).unwrap_or_default())
        .map_err(|e| GatewayError::Protocol(format!("`{name}`: {e}")))
}

fn refund_update(refund: &Refund) -> Option<RefundUpdate> {
    let currency = Currency::parse(&refund.amount_money.currency).ok()?;
    Some(RefundUpdate {
        refund_id: refund.id.clone(),
        amount: Money::new(refund.amount_money.amount, currency).ok()?,
        state: refund_state(&refund.status),
    })
}

fn refund_state(status: &str) -> RefundState {
    match status {
        "COMPLETED" => RefundState::Succeeded,
        "REJECTED" | "FAILED" => RefundState::Failed,
        _ => RefundState::Pending,
    }
}

/// A 2xx body, or the first error Square answered with.
fn ok_body(reply: Reply) -> Result<Value, GatewayError> {
    if reply.status.is_success() {
        return parse(&reply.body);
    }
    let failure: Failure = parse(&reply.body)?;
    let error = failure.errors.into_iter().next().unwrap_or_default();
    Err(GatewayError::Rejected { code: error.code, message: error.detail })
}
