//! Buyer verification (3-D Secure): the stand-in for the Web Payments SDK's
//! `verifyBuyer`. A card that requires it is declined with
//! `CARD_DECLINED_VERIFICATION_REQUIRED` until the payment is retried with a
//! `verification_token` from this page, which the shopper gets by choosing
//! Complete. The page returns to `return_url` with `verification_token` and
//! `nonce`, or `verification_error`.

use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::links::encode;
use super::objects::Verification;
use crate::ids::random_suffix;
use crate::pages::{escape, page as html};
use crate::state::Shared;

#[derive(Deserialize)]
pub(crate) struct ReturnTo {
    return_url: Option<String>,
}

pub(crate) async fn show(
    State(shared): State<Arc<Shared>>,
    Path(nonce): Path<String>,
    Query(q): Query<ReturnTo>,
) -> Response {
    if shared.read(|w| w.square.nonces.get(&nonce).is_none()) {
        return (StatusCode::NOT_FOUND, html("Not found", "<p>No such card.</p>")).into_response();
    }
    let hidden = q
        .return_url
        .map(|u| format!("<input type=\"hidden\" name=\"return_url\" value=\"{}\">", escape(&u)))
        .unwrap_or_default();
    html(
        "Verify your payment",
        &format!(
            "<p>Your bank asks you to verify this payment.</p><p>This is the sandbox's test challenge: choose the outcome.</p>\
             <form method=\"post\">{hidden}<button name=\"action\" value=\"complete\">Complete verification</button>\
             <button class=\"secondary\" name=\"action\" value=\"fail\">Fail verification</button></form>"
        ),
    )
    .into_response()
}

#[derive(Deserialize)]
pub(crate) struct VerifyForm {
    action: String,
    return_url: Option<String>,
}

pub(crate) async fn submit(
    State(shared): State<Arc<Shared>>,
    Path(nonce): Path<String>,
    Form(form): Form<VerifyForm>,
) -> Response {
    let token = if form.action == "complete" {
        let token = format!("verf:{}", random_suffix(30));
        let stored = shared.write(|w| {
            let account_id = w.square.nonces.get(&nonce)?.account_id.clone();
            w.square
                .verifications
                .insert(token.clone(), Verification { token: token.clone(), account_id, nonce: nonce.clone() });
            Some(())
        });
        if stored.is_none() {
            return (StatusCode::NOT_FOUND, html("Not found", "<p>No such card.</p>")).into_response();
        }
        Some(token)
    } else {
        None
    };
    let Some(url) = form.return_url else {
        let outcome = if token.is_some() { "complete" } else { "failed" };
        return html("Done", &format!("<p>Verification {outcome}. You can close this window.</p>")).into_response();
    };
    let sep = if url.contains('?') { '&' } else { '?' };
    let query = match token {
        Some(t) => format!("verification_token={}&nonce={}", encode(&t), encode(&nonce)),
        None => format!("verification_error=VERIFICATION_FAILED&nonce={}", encode(&nonce)),
    };
    Redirect::to(&format!("{url}{sep}{query}")).into_response()
}
