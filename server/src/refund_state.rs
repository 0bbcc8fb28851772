//! The refund state machine, like [`order_state`](crate::order_state): the
//! one place that says how a refund's status moves. A refund's status is
//! what its gateway says of it, stored by name.
//!
//! ```text
//! pending ──▶ succeeded
//!    └──────▶ failed
//! ```
//! Only a pending refund moves, whoever brings the news (the gateway's answer,
//! its event, reconciliation). The writes that move one repeat the condition
//! in SQL (`status = 'pending'`), so two pieces of news cannot both move it.

pub use paylet_gateway::RefundState as RefundStatus;

/// The status a refund in `from` takes when the gateway says `news`, or
/// `None` when it does not move.
pub fn next(from: RefundStatus, news: RefundStatus) -> Option<RefundStatus> {
    use RefundStatus as S;
    match (from, news) {
        (S::Pending, S::Succeeded | S::Failed) => Some(news),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use RefundStatus as S;

    const ALL: [RefundStatus; 3] = [S::Pending, S::Succeeded, S::Failed];

    #[test]
    fn a_pending_refund_settles_as_the_gateway_says() {
        assert_eq!(next(S::Pending, S::Succeeded), Some(S::Succeeded));
        assert_eq!(next(S::Pending, S::Failed), Some(S::Failed));
        assert_eq!(next(S::Pending, S::Pending), None);
    }

    #[test]
    fn a_settled_refund_never_moves() {
        for from in [S::Succeeded, S::Failed] {
            for news in ALL {
                assert_eq!(next(from, news), None, "{from:?} on {news:?}");
            }
        }
    }

    #[test]
    fn each_status_is_stored_by_a_name_that_reads_back() {
        for status in ALL {
            assert_eq!(RefundStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(RefundStatus::parse("refunded"), None);
    }
}
