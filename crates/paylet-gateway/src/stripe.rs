//! The Stripe-style protocol: form-encoded requests, bearer secret key,
//! PaymentIntents. Speaks to the sandbox or to `https://api.stripe.com`.

use async_trait::async_trait;
use paylet_api::GatewayStyle;
use paylet_secret::Secret;
use reqwest::StatusCode;
use serde::Deserialize;

use crate::{ChargeOutcome, ChargeRequest, DeclineCode, Gateway, GatewayError};

pub struct StripeGateway {
    http: reqwest::Client,
    base_url: String,
    secret_key: Secret,
}

impl StripeGateway {
    pub fn new(http: reqwest::Client, base_url: &str, secret_key: Secret) -> StripeGateway {
        StripeGateway { http, base_url: base_url.trim_end_matches('/').to_owned(), secret_key }
    }

    async fn post(&self, path: &str, idempotency_key: &str, form: &[(&str, &str)]) -> Result<Reply, GatewayError> {
        let response = self
            .http
            .post(format!("{}{path}", self.base_url))
            .bearer_auth(self.secret_key.expose())
            .header("Idempotency-Key", idempotency_key)
            .form(form)
            .send()
            .await
            .map_err(GatewayError::from_reqwest)?;
        let status = response.status();
        let body = response.bytes().await.map_err(GatewayError::from_reqwest)?;
        Ok(Reply { status, body: body.to_vec() })
    }
}

struct Reply {
    status: StatusCode,
    body: Vec<u8>,
}

#[async_trait]
impl Gateway for StripeGateway {
    fn style(&self) -> GatewayStyle {
        GatewayStyle::Stripe
    }

    async fn charge(&self, request: ChargeRequest<'_>) -> Result<ChargeOutcome, GatewayError> {
        let amount = request.amount.amount().to_string();
        let currency = request.amount.currency().code().to_ascii_lowercase();
        let mut form = vec![
            ("amount", amount.as_str()),
            ("currency", currency.as_str()),
            ("confirm", "true"),
            ("metadata[paylet_reference]", request.reference),
        ];
        // A PaymentMethod id is charged as is; a legacy card token goes through
        // `payment_method_data`, which Stripe turns into a PaymentMethod.
        if request.token.starts_with("pm_") {
            form.push(("payment_method", request.token));
        } else {
            form.push(("payment_method_data[type]", "card"));
            form.push(("payment_method_data[card][token]", request.token));
        }
        if let Some(url) = request.return_url {
            form.push(("return_url", url));
        }
        let reply = self.post("/v1/payment_intents", request.idempotency_key, &form).await?;
        charge_outcome(reply)
    }
}

#[derive(Debug, Deserialize)]
struct PaymentIntent {
    id: String,
    status: String,
    next_action: Option<NextAction>,
    last_payment_error: Option<ErrorObject>,
}

#[derive(Debug, Deserialize)]
struct NextAction {
    redirect_to_url: Option<RedirectToUrl>,
}

#[derive(Debug, Deserialize)]
struct RedirectToUrl {
    url: String,
}

#[derive(Debug, Deserialize)]
struct ErrorEnvelope {
    error: ErrorObject,
}

#[derive(Debug, Deserialize)]
struct ErrorObject {
    #[serde(rename = "type")]
    kind: Option<String>,
    code: Option<String>,
    decline_code: Option<String>,
    message: Option<String>,
    payment_intent: Option<Box<PaymentIntent>>,
}

impl ErrorObject {
    fn decline(&self) -> DeclineCode {
        DeclineCode::from_stripe(self.decline_code.as_deref().or(self.code.as_deref()).unwrap_or_default())
    }
}

fn parse<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, GatewayError> {
    serde_json::from_slice(body).map_err(|e| GatewayError::Protocol(e.to_string()))
}

fn charge_outcome(reply: Reply) -> Result<ChargeOutcome, GatewayError> {
    if reply.status.is_success() {
        return intent_outcome(parse(&reply.body)?);
    }
    if reply.status.is_server_error() {
        return Err(GatewayError::ServerError { status: reply.status.as_u16() });
    }
    if reply.status == StatusCode::UNAUTHORIZED {
        return Err(GatewayError::Authentication);
    }
    let error = parse::<ErrorEnvelope>(&reply.body)?.error;
    if error.kind.as_deref() == Some("card_error") {
        return Ok(ChargeOutcome::Declined {
            payment_id: error.payment_intent.as_ref().map(|pi| pi.id.clone()),
            code: error.decline(),
        });
    }
    Err(GatewayError::Rejected {
        code: error.code.unwrap_or_else(|| "unknown".into()),
        message: error.message.unwrap_or_default(),
    })
}

fn intent_outcome(intent: PaymentIntent) -> Result<ChargeOutcome, GatewayError> {
    match intent.status.as_str() {
        "succeeded" => Ok(ChargeOutcome::Succeeded { payment_id: intent.id }),
        "requires_action" => {
            let url = intent
                .next_action
                .and_then(|a| a.redirect_to_url)
                .map(|r| r.url)
                .ok_or_else(|| GatewayError::Protocol("requires_action without a redirect URL".into()))?;
            Ok(ChargeOutcome::RequiresAction { payment_id: intent.id, redirect_url: url })
        }
        "requires_payment_method" => Ok(ChargeOutcome::Declined {
            code: intent.last_payment_error.as_ref().map_or(DeclineCode::Generic, ErrorObject::decline),
            payment_id: Some(intent.id),
        }),
        other => Err(GatewayError::Protocol(format!("unexpected PaymentIntent status `{other}`"))),
    }
}
