//! The 3-D Secure challenge page a `requires_action` intent redirects to:
//! Complete or Fail, then back to the return URL with Stripe's query
//! parameters (`payment_intent`, `payment_intent_client_secret`, `redirect_status`).

use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;

use super::objects::IntentStatus;
use super::payment_intents::{fail, succeed};
use crate::pages::{amount, escape, hidden, page};
use crate::state::Shared;

/// `sdk`: the origin of the page whose Stripe.js (the stand-in's
/// `handleNextAction`) opened this challenge, which hears how it ended.
#[derive(Deserialize)]
pub(crate) struct Opener {
    sdk: Option<String>,
}

pub(crate) async fn show(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    Query(q): Query<Opener>,
) -> Response {
    let pi = shared.read(|w| w.stripe.payment_intents.get(&id).cloned());
    let sdk = hidden("sdk", q.sdk.as_deref());
    match pi {
        Some(pi) if pi.status == IntentStatus::RequiresAction => page(
            "Confirm your payment",
            &format!(
                "<p>Your bank asks you to confirm a payment of <strong>{}</strong>.</p>\
                 <p>This is the sandbox's test challenge: choose the outcome.</p>\
                 <form method=\"post\">{sdk}<button name=\"action\" value=\"complete\">Complete authentication</button>\
                 <button class=\"secondary\" name=\"action\" value=\"fail\">Fail authentication</button></form>",
                amount(pi.amount, &pi.currency)
            ),
        )
        .into_response(),
        Some(_) => page("Nothing to confirm", "<p>This payment is not waiting for authentication.</p>").into_response(),
        None => (StatusCode::NOT_FOUND, page("Not found", "<p>No such payment.</p>")).into_response(),
    }
}

#[derive(Deserialize)]
pub(crate) struct ChallengeForm {
    action: String,
    sdk: Option<String>,
}

pub(crate) async fn submit(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    Form(form): Form<ChallengeForm>,
) -> Response {
    let passed = form.action == "complete";
    let outcome = shared.write(|w| {
        let pi = w.stripe.payment_intents.get(&id).filter(|pi| pi.status == IntentStatus::RequiresAction).cloned()?;
        if passed {
            succeed(w, &id, None);
        } else {
            let error = json!({
                "type": "invalid_request_error",
                "code": "payment_intent_authentication_failure",
                "doc_url": "https://stripe.com/docs/error-codes/payment-intent-authentication-failure",
                "message": "We are unable to authenticate your payment method. Please choose a different payment method and try again.",
            });
            fail(w, &id, error, None);
        }
        Some(pi)
    });
    let Some(pi) = outcome else {
        return page("Nothing to confirm", "<p>This payment is not waiting for authentication.</p>").into_response();
    };
    let status = if passed { "succeeded" } else { "failed" };
    if let Some(parent) = &form.sdk {
        // Stripe.js reads the intent as the publishable key may: no secret.
        let mut intent = shared.read(|w| w.stripe.payment_intents.get(&id).map(|pi| pi.to_json())).unwrap_or_default();
        if let Some(intent) = intent.as_object_mut() {
            intent.remove("client_secret");
        }
        return crate::sdk::challenge_done("paylet-sandbox:3ds", parent, &json!({ "payment_intent": intent }))
            .into_response();
    }
    match pi.return_url {
        Some(url) => {
            let sep = if url.contains('?') { '&' } else { '?' };
            Redirect::to(&format!(
                "{url}{sep}payment_intent={}&payment_intent_client_secret={}&redirect_status={status}",
                pi.id, pi.client_secret
            ))
            .into_response()
        }
        None => page("Done", &format!("<p>Authentication {}. You can close this window.</p>", escape(status)))
            .into_response(),
    }
}
