//! The payment-attempt state machine: the one place that decides how what
//! the gateway says moves an attempt. Everything it says goes through
//! [`next`] (in `payments::settle`). The two moves Paylet makes itself as it
//! calls the gateway, `processing` to `failed` (the request refused) and to
//! `open` (the hosted page made), are single conditional updates in
//! `payments`, drawn below for the whole picture.
//!
//! ```text
//! processing ──▶ requires_action ──▶ succeeded
//!    │  │  │           ├──▶ declined (a card's challenge failed)
//!    │  │  │           └──▶ ended (given up, canceled)
//!    │  │  ├──▶ succeeded, declined (a card), ended
//!    │  │  └──▶ failed (the gateway refused the request itself)
//!    │  └──▶ open (a hosted page, waiting for the shopper) ──▶ succeeded, ended
//!    ended ──▶ succeeded (the gateway took the money after all)
//! ```
//! A hosted page's own declines are the shopper's to retry on that page: they
//! do not move its attempt. An attempt the shopper left is `ended`, but if the
//! gateway then says it succeeded, the money moved, and that counts.

use std::fmt;

use paylet_gateway::PaymentNews;

/// How the shopper pays in an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptKind {
    /// A card token charged inline.
    Card,
    /// The gateway's hosted page.
    Hosted,
}

impl AttemptKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptKind::Card => "card",
            AttemptKind::Hosted => "hosted",
        }
    }

    pub fn parse(s: &str) -> Option<AttemptKind> {
        [AttemptKind::Card, AttemptKind::Hosted].into_iter().find(|k| k.as_str() == s)
    }
}

/// An attempt's status, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptStatus {
    /// Stored before the gateway is called; its answer not in yet.
    Processing,
    /// Waiting for the shopper to pass the bank's challenge.
    RequiresAction,
    /// A hosted page waiting for the shopper.
    Open,
    Succeeded,
    Declined,
    /// Canceled at the gateway, or a hosted page that expired.
    Ended,
    /// The gateway refused the request itself (not the card).
    Failed,
}

const ALL: [AttemptStatus; 7] = [
    AttemptStatus::Processing,
    AttemptStatus::RequiresAction,
    AttemptStatus::Open,
    AttemptStatus::Succeeded,
    AttemptStatus::Declined,
    AttemptStatus::Ended,
    AttemptStatus::Failed,
];

impl AttemptStatus {
    /// Attempts that may still succeed.
    pub const UNSETTLED: [AttemptStatus; 3] =
        [AttemptStatus::Processing, AttemptStatus::RequiresAction, AttemptStatus::Open];

    pub fn as_str(self) -> &'static str {
        match self {
            AttemptStatus::Processing => "processing",
            AttemptStatus::RequiresAction => "requires_action",
            AttemptStatus::Open => "open",
            AttemptStatus::Succeeded => "succeeded",
            AttemptStatus::Declined => "declined",
            AttemptStatus::Ended => "ended",
            AttemptStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<AttemptStatus> {
        ALL.into_iter().find(|status| status.as_str() == s)
    }

    pub fn may_succeed(self) -> bool {
        AttemptStatus::UNSETTLED.contains(&self)
    }
}

impl fmt::Display for AttemptStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the gateway said about an attempt: in its answer, a webhook, or to
/// reconciliation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptEvent {
    Succeeded,
    /// The bank asks the shopper to pass a challenge.
    RequiresAction,
    Declined,
    /// It can no longer succeed: canceled at the gateway, or its page expired.
    Ended,
}

impl AttemptEvent {
    /// What the gateway's news means for an attempt; `None` while it settles
    /// nothing. A status report of a payment waiting for its challenge (no
    /// `next`) is none: the attempt keeps the challenge it has.
    pub fn of(news: &PaymentNews) -> Option<AttemptEvent> {
        match news {
            PaymentNews::Succeeded { .. } => Some(AttemptEvent::Succeeded),
            PaymentNews::Declined { .. } => Some(AttemptEvent::Declined),
            PaymentNews::RequiresAction { next: Some(_), .. } => Some(AttemptEvent::RequiresAction),
            PaymentNews::Ended => Some(AttemptEvent::Ended),
            PaymentNews::RequiresAction { next: None, .. } | PaymentNews::Pending => None,
        }
    }
}

/// The attempt's status after `event`, or `None` when the event changes
/// nothing: a settled attempt never moves again (but for an ended one that
/// succeeded after all).
pub fn next(from: AttemptStatus, kind: AttemptKind, event: AttemptEvent) -> Option<AttemptStatus> {
    use AttemptEvent as E;
    use AttemptStatus as S;
    match (from, event) {
        (S::Processing | S::RequiresAction | S::Open | S::Ended, E::Succeeded) => Some(S::Succeeded),
        (S::Processing, E::RequiresAction) => Some(S::RequiresAction),
        (S::Processing | S::RequiresAction, E::Declined) if kind == AttemptKind::Card => Some(S::Declined),
        (S::Processing | S::RequiresAction | S::Open, E::Ended) => Some(S::Ended),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AttemptEvent as E;
    use AttemptKind as K;
    use AttemptStatus as S;

    const ALL_EVENTS: [AttemptEvent; 4] = [E::Succeeded, E::RequiresAction, E::Declined, E::Ended];

    #[test]
    fn a_card_is_charged_directly_or_after_its_challenge() {
        assert_eq!(next(S::Processing, K::Card, E::Succeeded), Some(S::Succeeded));
        assert_eq!(next(S::Processing, K::Card, E::RequiresAction), Some(S::RequiresAction));
        assert_eq!(next(S::RequiresAction, K::Card, E::Succeeded), Some(S::Succeeded));
        assert_eq!(next(S::RequiresAction, K::Card, E::Declined), Some(S::Declined));
    }

    #[test]
    fn an_open_hosted_page_is_paid_or_ends_but_its_own_declines_move_nothing() {
        assert_eq!(next(S::Open, K::Hosted, E::Succeeded), Some(S::Succeeded));
        assert_eq!(next(S::Open, K::Hosted, E::Ended), Some(S::Ended));
        assert_eq!(next(S::Open, K::Hosted, E::Declined), None);
        assert_eq!(next(S::Processing, K::Hosted, E::Declined), None);
    }

    #[test]
    fn a_settled_attempt_never_moves_again_but_money_taken_after_it_ended_counts() {
        for kind in [K::Card, K::Hosted] {
            for from in [S::Succeeded, S::Declined, S::Failed] {
                for event in ALL_EVENTS {
                    assert_eq!(next(from, kind, event), None, "{from} {kind:?} {event:?}");
                }
            }
            assert_eq!(next(S::Ended, kind, E::Succeeded), Some(S::Succeeded));
            for event in ALL_EVENTS.into_iter().filter(|e| *e != E::Succeeded) {
                assert_eq!(next(S::Ended, kind, event), None, "{kind:?} {event:?}");
            }
        }
    }

    #[test]
    fn every_status_and_kind_reads_back_as_stored_and_nothing_else_does() {
        for status in ALL {
            assert_eq!(S::parse(status.as_str()), Some(status));
        }
        for kind in [K::Card, K::Hosted] {
            assert_eq!(K::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(S::parse("paid"), None);
        assert_eq!(K::parse("cash"), None);
    }
}
