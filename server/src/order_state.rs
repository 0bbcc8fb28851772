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
//! Only too many declines fail it.

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
    /// Refunds now add up to `fully` the captured amount, or to less.
    Refunded {
        fully: bool,
    },
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
        (S::Paid | S::PartiallyRefunded, E::Refunded { fully: true }) => Some(S::Refunded),
        (S::Paid, E::Refunded { fully: false }) => Some(S::PartiallyRefunded),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use OrderEvent as E;
    use OrderStatus as S;

    const ALL_EVENTS: [OrderEvent; 7] = [
        E::PaymentSucceeded,
        E::PaymentRequiresAction,
        E::ActionFailed,
        E::PaymentFailed,
        E::Canceled,
        E::Refunded { fully: true },
        E::Refunded { fully: false },
    ];

    #[test]
    fn a_pending_order_can_be_paid_directly_or_after_a_challenge() {
        assert_eq!(next(S::Pending, E::PaymentSucceeded), Some(S::Paid));
        assert_eq!(next(S::Pending, E::PaymentRequiresAction), Some(S::RequiresAction));
        assert_eq!(next(S::RequiresAction, E::PaymentSucceeded), Some(S::Paid));
    }

    #[test]
    fn a_paid_order_never_moves_backwards() {
        for event in [E::PaymentRequiresAction, E::ActionFailed, E::PaymentFailed, E::Canceled, E::PaymentSucceeded] {
            assert_eq!(next(S::Paid, event), None, "{event:?}");
        }
    }

    #[test]
    fn refunds_move_a_paid_order_forward_only() {
        assert_eq!(next(S::Paid, E::Refunded { fully: false }), Some(S::PartiallyRefunded));
        assert_eq!(next(S::PartiallyRefunded, E::Refunded { fully: true }), Some(S::Refunded));
        assert_eq!(next(S::Paid, E::Refunded { fully: true }), Some(S::Refunded));
        // A second partial refund keeps the status (the amount is recorded elsewhere).
        assert_eq!(next(S::PartiallyRefunded, E::Refunded { fully: false }), None);
        assert_eq!(next(S::Pending, E::Refunded { fully: true }), None);
    }

    #[test]
    fn terminal_states_accept_no_events() {
        for from in [S::Failed, S::Canceled, S::Refunded] {
            for event in ALL_EVENTS {
                assert_eq!(next(from, event), None, "{from:?} {event:?}");
            }
        }
    }
}
