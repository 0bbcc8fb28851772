//! Paying orders: a card token charged inline (and finished after its 3-D
//! Secure challenge), or the gateway's hosted page. Each try is an attempt,
//! stored before the gateway is called; the attempt's id is the gateway
//! idempotency key, so a retry after a lost answer never charges twice.
//!
//! Whatever the gateway says about an attempt, however it says it (its answer,
//! a webhook, reconciliation), is applied by [`settle`]: the one place that
//! moves attempts, and through them orders.

use paylet_api::{
    CardFields, ConfirmPaymentRequest, Decline, HostedSessionRequest, HostedSessionResponse, Money, NextAction,
    OrderId, OrderStatus, PayRequest, PaymentMethod, PaymentResult,
};
use paylet_gateway::{
    ChargeRequest, ConfirmRequest, DeclineCode, HostedLine, HostedRequest, HostedSession, PaymentNews, ShopperAction,
    longest_call,
};

use crate::app::AppState;
use crate::attempt_state::{self, AttemptEvent, AttemptKind, AttemptStatus};
use crate::db::payment_attempts as attempt_rows;
use crate::db::{Conn, Db, millis, now_millis};
use crate::order_state::OrderEvent;
use crate::orders::{self, OrderSummary};
use crate::stores::{self, Store};
use crate::{Error, ids};

/// After this many declines an order fails: a card tester gets no more tries.
const MAX_DECLINES: i64 = 10;
/// A challenge or hosted page the shopper has not finished after this long is
/// given up on (a later success at the gateway still counts).
const ABANDONED_MS: i64 = 24 * 3600 * 1000;
/// The gateway keeps idempotency keys for 24 hours: an attempt whose answer
/// was lost is retried under its key only well inside that.
const RETRY_WINDOW_MS: i64 = 20 * 3600 * 1000;

#[derive(Debug, Clone)]
pub struct Attempt {
    pub id: String,
    pub order_id: OrderId,
    pub kind: AttemptKind,
    pub token: Option<String>,
    pub status: AttemptStatus,
    pub amount: Money,
    pub gateway_payment_id: Option<String>,
    pub hosted_session_id: Option<String>,
    /// Square style: the hosted page's payment link.
    pub hosted_link_id: Option<String>,
    pub redirect_url: Option<String>,
    /// Square style with the gateway's card fields: the buyer verification
    /// that goes with `token`, kept for a retry under the same key.
    pub verification_token: Option<String>,
    pub decline: Option<DeclineCode>,
    pub created_at: i64,
}

impl Attempt {
    fn may_succeed(&self) -> bool {
        self.status.may_succeed()
    }

    /// A new attempt to pay the whole order, before the gateway is called.
    fn new(order: &OrderSummary, kind: AttemptKind, token: Option<String>) -> Attempt {
        Attempt {
            id: ids::new_payment_id(),
            order_id: order.id.clone(),
            kind,
            token,
            status: AttemptStatus::Processing,
            amount: order.total,
            gateway_payment_id: None,
            hosted_session_id: None,
            hosted_link_id: None,
            redirect_url: None,
            verification_token: None,
            decline: None,
            created_at: now_millis(),
        }
    }
}

/// The order's attempts that may still succeed, oldest first.
pub async fn unsettled(db: &Db, order: &OrderId) -> Result<Vec<Attempt>, Error> {
    let mut conn = db.reader().acquire().await?;
    Ok(attempt_rows::of_order(&mut conn, order).await?.into_iter().filter(Attempt::may_succeed).collect())
}

/// What the shopper is told: the order's status, why the card was declined,
/// and the challenge while the order waits on one.
fn payment_result(
    order: &OrderId,
    status: OrderStatus,
    decline: Option<DeclineCode>,
    challenge: Option<NextAction>,
) -> PaymentResult {
    PaymentResult {
        order_id: order.clone(),
        status,
        decline: decline
            .map(|code| Decline { code: code.as_str().to_owned(), message: code.shopper_message().to_owned() }),
        next_action: challenge.filter(|_| status == OrderStatus::RequiresAction),
    }
}

/// The challenge the gateway's news asks the shopper to pass, if any.
fn challenge(news: &PaymentNews) -> Option<NextAction> {
    match news {
        PaymentNews::RequiresAction { next: Some(ShopperAction::Redirect(url)), .. } => {
            Some(NextAction::redirect(url.clone()))
        }
        PaymentNews::RequiresAction { next: Some(ShopperAction::Sdk { client_secret }), .. } => {
            Some(NextAction::gateway_sdk(client_secret.expose().clone()))
        }
        _ => None,
    }
}

impl Attempt {
    /// The challenge stored with the attempt (a redirect; an SDK's secret is not kept).
    fn challenge(&self) -> Option<NextAction> {
        self.redirect_url.clone().map(NextAction::redirect)
    }
}

/// Applies `news` to the attempt and its order, inside a write job. Late or
/// repeated news changes nothing: the attempt and the order only move forward.
pub async fn settle(conn: &mut Conn, attempt_id: &str, news: PaymentNews) -> Result<PaymentResult, Error> {
    let attempt = attempt_rows::lock(conn, attempt_id).await?.ok_or(Error::NotFound("payment"))?;
    let order = orders::summary_in(conn, &attempt.order_id).await?;
    let Some(to) = AttemptEvent::of(&news).and_then(|event| attempt_state::next(attempt.status, attempt.kind, event))
    else {
        // Already settled (by a webhook that beat the gateway's answer, say):
        // report what it settled as.
        let decline = attempt.decline.filter(|_| attempt.status == AttemptStatus::Declined);
        return Ok(payment_result(&order.id, order.status, decline, challenge(&news).or(attempt.challenge())));
    };
    let (payment_id, decline, redirect) = match &news {
        PaymentNews::Succeeded { payment_id } => (Some(payment_id.as_str()), None, None),
        PaymentNews::Declined { payment_id, code } => (payment_id.as_deref(), Some(*code), None),
        PaymentNews::RequiresAction { payment_id, next } => {
            let redirect = match next {
                Some(ShopperAction::Redirect(url)) => Some(url.as_str()),
                _ => None,
            };
            (payment_id.as_deref(), None, redirect)
        }
        PaymentNews::Ended | PaymentNews::Pending => (None, None, None),
    };
    let settled = to != AttemptStatus::RequiresAction;
    let moved =
        attempt_rows::Moved { status: to, payment_id, decline, redirect_url: redirect, settled, now: now_millis() };
    attempt_rows::moved(conn, &attempt.id, moved).await?;

    let from_action = attempt.status == AttemptStatus::RequiresAction;
    let event = match to {
        AttemptStatus::Succeeded => Some(OrderEvent::PaymentSucceeded),
        AttemptStatus::RequiresAction => Some(OrderEvent::PaymentRequiresAction),
        AttemptStatus::Declined | AttemptStatus::Ended if from_action => Some(OrderEvent::ActionFailed),
        _ => None,
    };
    let store = order.store_id.clone();
    if let Some(code) = decline {
        orders::record_in(conn, &order.id, &store, "payment_declined", &format!("Card declined: {}.", code.as_str()))
            .await?;
    }
    if to == AttemptStatus::Ended {
        orders::record_in(conn, &order.id, &store, "payment_ended", &format!("Payment attempt {} ended.", attempt.id))
            .await?;
    }
    let mut status_now = match event {
        Some(event) => orders::transition(conn, &order.id, event).await?,
        None => order.status,
    };
    if to == AttemptStatus::Declined && attempt_rows::declines(conn, &order.id).await? >= MAX_DECLINES {
        status_now = orders::transition(conn, &order.id, OrderEvent::PaymentFailed).await?;
    }
    let paid_before =
        matches!(order.status, OrderStatus::Paid | OrderStatus::PartiallyRefunded | OrderStatus::Refunded);
    if to == AttemptStatus::Succeeded && paid_before {
        // Paid already by another attempt (an inline card and a hosted page
        // both went through): the money must go back.
        let detail = format!(
            "Payment {} succeeded for an order already {}; refund it.",
            payment_id.unwrap_or_default(),
            order.status.as_str()
        );
        orders::record_in(conn, &order.id, &store, "duplicate_payment", &detail).await?;
        tracing::warn!(order = %order.id, attempt = %attempt.id, "a second payment succeeded for one order");
    }
    tracing::info!(order = %order.id, attempt = %attempt.id, from = %attempt.status, to = %to, "payment attempt moved");
    Ok(payment_result(&order.id, status_now, decline, challenge(&news).or(attempt.challenge())))
}

/// Applies `news` in its own write job.
pub async fn settle_now(state: &AppState, attempt_id: &str, news: PaymentNews) -> Result<PaymentResult, Error> {
    let id = attempt_id.to_owned();
    state.db.write(move |conn| Box::pin(async move { settle(conn, &id, news).await })).await
}

/// Gateway tokens are short printable ASCII (`tok_…`, `pm_…`, `cnon:…`).
fn validate_token(request: &PayRequest) -> Result<(), Error> {
    let printable = |token: &str| (1..=255).contains(&token.len()) && token.bytes().all(|b| b.is_ascii_graphic());
    if !printable(&request.token) {
        return Err(Error::invalid("invalid_token", "token", "The card token is missing or malformed."));
    }
    if !request.verification_token.as_deref().is_none_or(printable) {
        let message = "The buyer verification token is malformed.";
        return Err(Error::invalid("invalid_token", "verification_token", message));
    }
    Ok(())
}

/// Where the gateway sends the shopper back after a challenge: the widget,
/// which then asks the server to confirm.
fn return_url(state: &AppState, order: &OrderId) -> String {
    format!("{}/widget/return?order={order}", state.settings.public_url)
}

/// The card attempt's charge, under the attempt's id as idempotency key.
fn charge_request<'a>(store: &Store, return_url: &'a str, attempt: &'a Attempt) -> ChargeRequest<'a> {
    ChargeRequest {
        amount: attempt.amount,
        token: attempt.token.as_deref().unwrap_or_default(),
        idempotency_key: &attempt.id,
        reference: attempt.order_id.as_str(),
        return_url,
        browser_sdk: store.gateway.card_fields == CardFields::Gateway,
        verification_token: attempt.verification_token.as_deref(),
    }
}

/// What [`begin_card`] decided.
enum Begin {
    /// Nothing to charge: the answer is already known.
    Answer(PaymentResult),
    /// Charge this attempt (new, or a retry of one whose answer was lost).
    Charge(Attempt),
    /// Another attempt may still succeed; it must settle first.
    Busy(Box<Attempt>),
    /// This attempt waits on the gateway SDK's challenge, whose secret is not
    /// stored: the gateway is asked for it again.
    Resume(Attempt),
}

pub async fn pay(state: &AppState, order_id: &OrderId, request: &PayRequest) -> Result<PaymentResult, Error> {
    validate_token(request)?;
    let order = orders::find_for_client(&state.db, order_id, &request.client_secret).await?;
    let store = stores::find(&state.db, &order.store_id).await?;
    require_method(&store, PaymentMethod::Card)?;
    for _ in 0..2 {
        match begin_card(state, &order, request).await? {
            Begin::Answer(result) => return Ok(result),
            Begin::Charge(attempt) => return charge(state, &store, &attempt).await,
            Begin::Busy(other) => make_room(state, &store, &other).await?,
            Begin::Resume(attempt) => return confirm_attempt(state, &store, &attempt, None).await,
        }
    }
    Err(in_progress())
}

/// Only the ways to pay the store enabled: each one spends its gateway
/// account's requests and opens its own ways to be abused.
fn require_method(store: &Store, method: PaymentMethod) -> Result<(), Error> {
    if store.payment_methods.contains(&method) {
        return Ok(());
    }
    Err(Error::Conflict {
        code: "payment_method_not_enabled",
        message: format!("This store does not take `{}` payments.", method.as_str()),
    })
}

fn in_progress() -> Error {
    Error::Conflict { code: "payment_in_progress", message: "A payment for this order is already in progress.".into() }
}

/// Another attempt may still succeed, and the shopper is here trying a new
/// way to pay. One whose answer was lost is asked about at the gateway first
/// (it may have paid). A challenge or hosted page the shopper left is closed
/// at the gateway first, and ends only once the gateway says it can take no
/// money: ended only here, the old page could still be paid, and the shopper
/// charged twice.
async fn make_room(state: &AppState, store: &Store, other: &Attempt) -> Result<(), Error> {
    if other.status == AttemptStatus::Processing {
        return ask_gateway(state, store, other).await;
    }
    let gateway = store.gateway.client(&state.http);
    let news = match (other.hosted_session_id.clone(), other.gateway_payment_id.as_deref()) {
        (Some(id), _) if other.kind == AttemptKind::Hosted => {
            let page = HostedSession {
                id,
                url: other.redirect_url.clone().unwrap_or_default(),
                link_id: other.hosted_link_id.clone(),
            };
            gateway.end_hosted(&page).await?
        }
        (_, Some(payment)) => gateway.cancel_payment(payment).await?,
        // Nothing at the gateway can take money: a Square-style challenge
        // charges only through `confirm`, which an ended attempt refuses.
        _ => PaymentNews::Ended,
    };
    if AttemptEvent::of(&news).is_none() {
        return Err(in_progress());
    }
    settle_now(state, &other.id, news).await.map(|_| ())
}

/// Charges a `processing` card attempt and settles it. Also a retry of one
/// whose answer was lost: the same key makes the gateway replay the first
/// answer, or charge now if the first request never reached it.
pub async fn charge(state: &AppState, store: &Store, attempt: &Attempt) -> Result<PaymentResult, Error> {
    let back = return_url(state, &attempt.order_id);
    match store.gateway.client(&state.http).charge(charge_request(store, &back, attempt)).await {
        Ok(news) => settle_now(state, &attempt.id, news).await,
        // The gateway refused the request itself, or the URL is no gateway
        // at all: nothing was charged, and this attempt is over.
        Err(e @ (paylet_gateway::GatewayError::Rejected { .. } | paylet_gateway::GatewayError::NotOffered { .. })) => {
            attempt_rows::fail(&state.db, &attempt.id, now_millis()).await?;
            Err(e.into())
        }
        // Unknown whether it charged: the attempt stays `processing`, and a
        // retry (by the shopper or by reconciliation) reuses its key.
        Err(e) => Err(e.into()),
    }
}

/// Decides, with the order locked, what paying it with the request's token means.
async fn begin_card(state: &AppState, order: &OrderSummary, request: &PayRequest) -> Result<Begin, Error> {
    let (order, token) = (order.clone(), request.token.clone());
    let verification_token = request.verification_token.clone();
    let check_at = state.settings.first_check();
    state
        .db
        .write(move |conn| {
            Box::pin(async move {
                let status = orders::status_in(conn, &order.id).await?;
                let answer = |status| {
                    Begin::Answer(PaymentResult {
                        status,
                        order_id: order.id.clone(),
                        decline: None,
                        next_action: None,
                    })
                };
                match status {
                    OrderStatus::Paid | OrderStatus::PartiallyRefunded | OrderStatus::Refunded => {
                        return Ok(answer(status));
                    }
                    OrderStatus::Failed | OrderStatus::Canceled => {
                        return Err(Error::Conflict {
                            code: "order_not_payable",
                            message: "This order can no longer be paid.".into(),
                        });
                    }
                    OrderStatus::Pending | OrderStatus::RequiresAction => {}
                }
                let attempts = attempt_rows::of_order(conn, &order.id).await?;
                if let Some(same) = attempts.iter().find(|a| a.token.as_deref() == Some(token.as_str())) {
                    return Ok(match same.status {
                        // A retry after a lost answer: the same key, so no second charge.
                        AttemptStatus::Processing => Begin::Charge(same.clone()),
                        // The shopper lost the answer that carried the SDK's
                        // challenge (a redirect is kept; that secret is not).
                        AttemptStatus::RequiresAction if same.redirect_url.is_none() => Begin::Resume(same.clone()),
                        AttemptStatus::RequiresAction => Begin::Answer(PaymentResult {
                            order_id: order.id.clone(),
                            status,
                            decline: None,
                            next_action: same.challenge(),
                        }),
                        _ => Begin::Answer(PaymentResult {
                            order_id: order.id.clone(),
                            status,
                            decline: Some(decline_of(same)),
                            next_action: None,
                        }),
                    });
                }
                if let Some(other) = attempts.iter().find(|a| a.may_succeed()) {
                    return Ok(Begin::Busy(Box::new(other.clone())));
                }
                let attempt = Attempt { verification_token, ..Attempt::new(&order, AttemptKind::Card, Some(token)) };
                attempt_rows::insert(conn, &order.store_id, &attempt, check_at).await?;
                Ok(Begin::Charge(attempt))
            })
        })
        .await
}

/// An earlier attempt with the same (single-use) token: why it did not pay.
fn decline_of(attempt: &Attempt) -> Decline {
    let code = attempt.decline.unwrap_or(DeclineCode::ProcessingError);
    Decline { code: code.as_str().to_owned(), message: "This card was already tried. Please enter it again.".into() }
}

/// Finishes a payment after its challenge: asks the gateway for the answer
/// (Stripe style) or charges again with the verification token (Square
/// style). The gateway's webhook may have settled it first; then the answer
/// is what it said.
pub async fn confirm(
    state: &AppState,
    order_id: &OrderId,
    request: &ConfirmPaymentRequest,
) -> Result<PaymentResult, Error> {
    let order = orders::find_for_client(&state.db, order_id, &request.client_secret).await?;
    let latest = latest(&state.db, &order.id).await?.filter(|a| a.kind == AttemptKind::Card);
    let Some(attempt) = latest.filter(|a| a.status != AttemptStatus::Processing) else {
        return Err(Error::Conflict {
            code: "nothing_to_confirm",
            message: "This order has no payment waiting for confirmation.".into(),
        });
    };
    if attempt.status != AttemptStatus::RequiresAction {
        // Read after the attempt: the order is at least as new as it.
        let status = orders::summary(&state.db, &order.id).await?.status;
        return Ok(payment_result(&order.id, status, attempt.decline, None));
    }
    let store = stores::find(&state.db, &order.store_id).await?;
    confirm_attempt(state, &store, &attempt, request.verification_token.as_deref()).await
}

/// Asks the gateway for a challenged attempt's answer and settles it. Without
/// a verification token it only reads (Stripe style): a payment still
/// waiting on Stripe.js's challenge comes back with the challenge's secret.
async fn confirm_attempt(
    state: &AppState,
    store: &Store,
    attempt: &Attempt,
    verification_token: Option<&str>,
) -> Result<PaymentResult, Error> {
    let back = return_url(state, &attempt.order_id);
    let news = store
        .gateway
        .client(&state.http)
        .confirm(ConfirmRequest {
            charge: charge_request(store, &back, attempt),
            payment_id: attempt.gateway_payment_id.as_deref(),
            verification_token,
        })
        .await?;
    settle_now(state, &attempt.id, news).await
}

/// The order's most recent attempt.
async fn latest(db: &Db, order: &OrderId) -> Result<Option<Attempt>, Error> {
    let mut conn = db.reader().acquire().await?;
    Ok(attempt_rows::of_order(&mut conn, order).await?.pop())
}

/// A hosted page for the order at its gateway, made once and then reused.
pub async fn hosted_session(
    state: &AppState,
    order_id: &OrderId,
    request: &HostedSessionRequest,
) -> Result<HostedSessionResponse, Error> {
    let order = orders::find_for_client(&state.db, order_id, &request.client_secret).await?;
    let store = stores::find(&state.db, &order.store_id).await?;
    require_method(&store, PaymentMethod::Hosted)?;
    let back = checked_return_url(&store, &request.return_url)?;
    let mut attempt = None;
    for _ in 0..2 {
        match begin_hosted(state, &order).await? {
            HostedBegin::Reuse(url) => return Ok(HostedSessionResponse { order_id: order.id, url }),
            HostedBegin::Create(id) => {
                attempt = Some(id);
                break;
            }
            HostedBegin::Busy(other) => make_room(state, &store, &other).await?,
        }
    }
    let attempt = attempt.ok_or_else(in_progress)?;
    let lines: Vec<HostedLine> = orders::load(&state.db, &order)
        .await?
        .lines
        .into_iter()
        .map(|l| HostedLine { name: l.name, quantity: l.quantity, unit_price: l.unit_price })
        .collect();
    let email = orders::customer_email(&state.db, &order.id).await?;
    let mark = |outcome: &str| format!("{back}{}paylet_order={}&paylet_return={outcome}", sep(&back), order.id);
    let created = store
        .gateway
        .client(&state.http)
        .create_hosted(HostedRequest {
            lines: &lines,
            total: order.total,
            reference: order.id.as_str(),
            idempotency_key: &attempt,
            customer_email: Some(&email),
            success_url: &mark("success"),
            cancel_url: &mark("cancel"),
        })
        .await;
    let session = match created {
        Ok(session) => session,
        Err(e) => {
            attempt_rows::fail(&state.db, &attempt, now_millis()).await?;
            return Err(e.into());
        }
    };
    let page = (session.id.clone(), session.link_id.clone(), session.url.clone());
    let status = state
        .db
        .write(move |conn| Box::pin(async move { attempt_rows::page_made(conn, &attempt, page, now_millis()).await }))
        .await?;
    // It opens only if nothing else ended it while the gateway was making the page.
    let opened = status == AttemptStatus::Open.as_str();
    if !opened {
        return Err(in_progress());
    }
    Ok(HostedSessionResponse { order_id: order.id, url: session.url })
}

fn sep(url: &str) -> char {
    if url.contains('?') { '&' } else { '?' }
}

/// The return URL must be a page of the store's own site: anything else would
/// make Paylet an open redirect.
fn checked_return_url(store: &Store, url: &str) -> Result<String, Error> {
    let invalid = || {
        Error::invalid(
            "invalid_return_url",
            "return_url",
            "The return URL must be a page on one of the store's allowed origins.",
        )
    };
    let parsed = reqwest::Url::parse(url).map_err(|_| invalid())?;
    let origin = parsed.origin().ascii_serialization();
    if !store.allowed_origins.contains(&origin) || parsed.fragment().is_some() {
        return Err(invalid());
    }
    Ok(parsed.to_string())
}

enum HostedBegin {
    /// The page already made for this order.
    Reuse(String),
    /// Make one under this new attempt's id.
    Create(String),
    /// Another attempt may still succeed.
    Busy(Box<Attempt>),
}

/// Decides, with the order locked, what a hosted page for it means.
async fn begin_hosted(state: &AppState, order: &OrderSummary) -> Result<HostedBegin, Error> {
    let order = order.clone();
    let check_at = state.settings.first_check();
    state
        .db
        .write(move |conn| {
            Box::pin(async move {
                let status = orders::status_in(conn, &order.id).await?;
                if !matches!(status, OrderStatus::Pending | OrderStatus::RequiresAction) {
                    return Err(Error::Conflict {
                        code: "order_not_payable",
                        message: format!("This order is {} and cannot be paid on a hosted page.", status.as_str()),
                    });
                }
                let attempts = attempt_rows::of_order(conn, &order.id).await?;
                match attempts.iter().find(|a| a.may_succeed()) {
                    Some(a) if a.status == AttemptStatus::Open => {
                        Ok(HostedBegin::Reuse(a.redirect_url.clone().unwrap_or_default()))
                    }
                    Some(other) => Ok(HostedBegin::Busy(Box::new(other.clone()))),
                    None => {
                        let attempt = Attempt::new(&order, AttemptKind::Hosted, None);
                        attempt_rows::insert(conn, &order.store_id, &attempt, check_at).await?;
                        Ok(HostedBegin::Create(attempt.id))
                    }
                }
            })
        })
        .await
}

/// Asks the gateway about one unsettled attempt and applies the answer (for
/// reconciliation, and a shopper's page asking after its payment).
pub async fn ask_gateway(state: &AppState, store: &Store, attempt: &Attempt) -> Result<(), Error> {
    let gateway = store.gateway.client(&state.http);
    let age = now_millis() - attempt.created_at;
    let news = match (attempt.kind, attempt.status) {
        (AttemptKind::Card, AttemptStatus::Processing) if age < RETRY_WINDOW_MS => {
            return charge(state, store, attempt).await.map(|_| ());
        }
        // Too old to retry safely: a person must look at the gateway.
        (AttemptKind::Card, AttemptStatus::Processing) => PaymentNews::Ended,
        (_, AttemptStatus::RequiresAction) => match &attempt.gateway_payment_id {
            Some(id) => gateway.payment(id).await?,
            None => PaymentNews::Pending,
        },
        (AttemptKind::Hosted, AttemptStatus::Open) => match &attempt.hosted_session_id {
            Some(session) => gateway.hosted_status(session).await?,
            None => PaymentNews::Ended,
        },
        // A hosted page still being made is left to the request making it.
        (AttemptKind::Hosted, AttemptStatus::Processing)
            if age < millis(longest_call(state.settings.gateway_timeout)) =>
        {
            return Ok(());
        }
        // A hosted page whose creation never answered: nobody has its URL.
        (AttemptKind::Hosted, AttemptStatus::Processing) => PaymentNews::Ended,
        _ => return Ok(()),
    };
    let news = match AttemptEvent::of(&news) {
        Some(_) => news,
        // Nothing settled after so long: the shopper left it.
        None if age > ABANDONED_MS => PaymentNews::Ended,
        None => return Ok(()),
    };
    settle_now(state, &attempt.id, news).await.map(|_| ())
}
