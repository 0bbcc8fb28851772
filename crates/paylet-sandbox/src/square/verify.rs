//! Buyer verification (3-D Secure): the stand-in for the Web Payments SDK's
//! `verifyBuyer`. A card that requires it is declined with
//! `CARD_DECLINED_VERIFICATION_REQUIRED` until the payment is retried with a
//! `verification_token` from this page, which the shopper gets by choosing
//! Complete. The page returns to `return_url` with `verification_token` and
//! `nonce`, or `verification_error`.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use serde::Deserialize;
use serde_json::json;

use super::links::encode;
use super::objects::Verification;
use crate::cards::Outcome;
use crate::ids::random_suffix;
use crate::pages::{hidden, page as html};
use crate::sdk::challenge_done;
use crate::state::{Shared, World};

/// Where the verification ends: back at `return_url`, or, opened by the Web
/// Payments SDK's stand-in, with a message to its page at origin `sdk`.
#[derive(Deserialize)]
pub(crate) struct ReturnTo {
    return_url: Option<String>,
    sdk: Option<String>,
}

pub(crate) async fn show(
    State(shared): State<Arc<Shared>>,
    Path(nonce): Path<String>,
    Query(q): Query<ReturnTo>,
) -> Response {
    if shared.read(|w| w.square.nonces.get(&nonce).is_none()) {
        return (StatusCode::NOT_FOUND, html("Not found", "<p>No such card.</p>")).into_response();
    }
    let carried = [hidden("return_url", q.return_url.as_deref()), hidden("sdk", q.sdk.as_deref())].concat();
    html(
        "Verify your payment",
        &format!(
            "<p>Your bank asks you to verify this payment.</p><p>This is the sandbox's test challenge: choose the outcome.</p>\
             <form method=\"post\">{carried}<button name=\"action\" value=\"complete\">Complete verification</button>\
             <button class=\"secondary\" name=\"action\" value=\"fail\">Fail verification</button></form>"
        ),
    )
    .into_response()
}

#[derive(Deserialize)]
pub(crate) struct VerifyForm {
    action: String,
    return_url: Option<String>,
    sdk: Option<String>,
}

pub(crate) async fn submit(
    State(shared): State<Arc<Shared>>,
    Path(nonce): Path<String>,
    Form(form): Form<VerifyForm>,
) -> Response {
    let token = if form.action == "complete" {
        let Some(token) = shared.write(|w| verify(w, &nonce)) else {
            return (StatusCode::NOT_FOUND, html("Not found", "<p>No such card.</p>")).into_response();
        };
        Some(token)
    } else {
        None
    };
    if let Some(parent) = &form.sdk {
        return challenge_done("paylet-sandbox:verify", parent, &json!({ "verification_token": token }))
            .into_response();
    }
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

/// A verification of the buyer of `nonce`: its token, or `None` for no such card.
fn verify(w: &mut World, nonce: &str) -> Option<String> {
    let token = format!("verf:{}", random_suffix(30));
    let account_id = w.square.nonces.get(nonce)?.account_id.clone();
    w.square
        .verifications
        .insert(token.clone(), Verification { token: token.clone(), account_id, nonce: nonce.into() });
    Some(token)
}

#[derive(Deserialize)]
pub(crate) struct VerifyBuyer {
    application_id: String,
    source_id: String,
}

/// What the Web Payments SDK's stand-in asks in `verifyBuyer`: a verification
/// at once when the card's bank wants no challenge (Square's frictionless
/// flow), else the challenge page to show the buyer.
pub(crate) async fn begin(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Json(body): Json<VerifyBuyer>,
) -> Response {
    let base = crate::stripe::base_url(&headers);
    let answer = shared.write(|w| {
        let account = w.square_account_by_application(&body.application_id)?.id.clone();
        let card = w.square.nonces.get(&body.source_id).filter(|n| n.account_id == account)?;
        if card.card.outcome == Outcome::RequireAuthentication {
            return Some(
                json!({ "challenge_url": format!("{base}/hosted/square/verify/{}", encode(&body.source_id)) }),
            );
        }
        Some(json!({ "token": verify(w, &body.source_id)? }))
    });
    match answer {
        Some(answer) => Json(answer).into_response(),
        None => {
            (StatusCode::BAD_REQUEST, Json(json!({ "message": "No such card for this application." }))).into_response()
        }
    }
}
