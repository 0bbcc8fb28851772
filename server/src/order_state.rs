//! The order state machine: the one place that decides which status changes are
//! allowed. Everything that moves an order calls [`next`].
//!
//! ```text
//! pending ──▶ requires_action ──▶ paid ──▶ partially_refunded ──▶ refunded
//!    │               │              └──────────────────────────▶ refunded
//!    ├──▶ paid       ├──▶ pending (challenge failed: try another card)
//!    ├──▶ failed     └──▶ failed
//!    └──▶ canceled
//! ```
//! A decline is not a status change: the order stays `pending` so the shopper can
//! fix the card, as a Stripe PaymentIntent returns to `requires_payment_method`.

use paylet_api::OrderStatus;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderEvent {
    PaymentSucceeded,
    PaymentRequiresAction,
    /// A 3-D Secure challenge failed or was abandoned.
    ActionFailed,
    /// The order can no longer be paid.
    PaymentFailed,
    Canceled,
}

/// The status after `event`, or `None` when the event does not apply to an order
/// in `from` (such as a late failure for an order that is already paid: a paid
/// order never moves backwards).
pub fn next(from: OrderStatus, event: OrderEvent) -> Option<OrderStatus> {
    use OrderEvent as E;
    use OrderStatus as S;
    match (from, event) {
        (S::Pending | S::RequiresAction, E::PaymentSucceeded) => Some(S::Paid),
        (S::Pending, E::PaymentRequiresAction) => Some(S::RequiresAction),
        (S::RequiresAction, E::ActionFailed) => Some(S::Pending),
        (S::Pending | S::RequiresAction, E::PaymentFailed) => Some(S::Failed),
        (S::Pending, E::Canceled) => Some(S::Canceled),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use OrderEvent as E;
    use OrderStatus as S;

    #[test]
    fn a_pending_order_can_be_paid_directly_or_after_a_challenge() {
        assert_eq!(next(S::Pending, E::PaymentSucceeded), Some(S::Paid));
        assert_eq!(next(S::Pending, E::PaymentRequiresAction), Some(S::RequiresAction));
        assert_eq!(next(S::RequiresAction, E::PaymentSucceeded), Some(S::Paid));
    }

    #[test]
    fn a_paid_order_never_moves_backwards() {
        for event in [E::PaymentRequiresAction, E::ActionFailed, E::PaymentFailed, E::Canceled] {
            assert_eq!(next(S::Paid, event), None, "{event:?}");
        }
    }

    #[test]
    fn terminal_states_accept_no_payment_events() {
        for from in [S::Failed, S::Canceled, S::Refunded] {
            for event in [E::PaymentSucceeded, E::PaymentRequiresAction, E::ActionFailed, E::PaymentFailed, E::Canceled]
            {
                assert_eq!(next(from, event), None, "{from:?} {event:?}");
            }
        }
    }
}
