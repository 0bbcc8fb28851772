//! Reconciliation's schedule: the next check of each unsettled payment
//! attempt and refund, in their `check_at` columns (NULL once settled).

use sqlx::AnyConnection;

use super::{Arg, Backend, Batch, Db};
use crate::Error;
use crate::attempt_state::AttemptStatus;

/// What is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Item {
    Payment,
    Refund,
}

impl Item {
    fn table(self) -> &'static str {
        match self {
            Item::Payment => "payment_attempts",
            Item::Refund => "refunds",
        }
    }
}

/// Leases up to `most` unsettled items of the kind due a check by `now`,
/// until `until`; their ids. On Postgres rows another instance holds are
/// passed over.
pub async fn lease_due(
    conn: &mut AnyConnection,
    item: Item,
    now: i64,
    until: i64,
    most: i64,
) -> Result<Vec<String>, Error> {
    let skip_locked = Backend::of(conn).skip_locked();
    let ids = match item {
        Item::Payment => {
            let [a, b, c] = AttemptStatus::UNSETTLED.map(AttemptStatus::as_str);
            let sql = format!(
                "UPDATE payment_attempts SET check_at = $1 WHERE id IN (SELECT id FROM payment_attempts \
                 WHERE check_at <= $2 AND status IN ($4, $5, $6) ORDER BY check_at LIMIT $3{skip_locked}) RETURNING id"
            );
            sqlx::query_scalar(&sql).bind(until).bind(now).bind(most).bind(a).bind(b).bind(c).fetch_all(conn).await?
        }
        Item::Refund => {
            let sql = format!(
                "UPDATE refunds SET check_at = $1 WHERE id IN (SELECT id FROM refunds \
                 WHERE check_at <= $2 AND status = 'pending' ORDER BY check_at LIMIT $3{skip_locked}) RETURNING id"
            );
            sqlx::query_scalar(&sql).bind(until).bind(now).bind(most).fetch_all(conn).await?
        }
    };
    Ok(ids)
}

/// Moves the lease of `held` items from `until` to `renewed`. An item whose
/// next check is no longer `until` (rescheduled, settled, or taken by another
/// worker after a lease was lost) is left alone.
pub async fn renew<'a>(
    db: &Db,
    held: impl Iterator<Item = &'a (Item, String)>,
    until: i64,
    renewed: i64,
) -> Result<(), Error> {
    let mut batch = Batch::default();
    let mut any = false;
    for (item, id) in held {
        let sql = format!("UPDATE {} SET check_at = $1 WHERE id = $2 AND check_at = $3", item.table());
        batch.add(sql, vec![Arg::Int(renewed), Arg::Text(id.clone()), Arg::Int(until)]);
        any = true;
    }
    if !any {
        return Ok(());
    }
    db.write_batch(batch).await
}

/// The item's next check, at `at`, if it is still unsettled.
pub async fn reschedule(db: &Db, item: Item, id: &str, at: i64) -> Result<(), Error> {
    let sql = format!("UPDATE {} SET check_at = $1 WHERE id = $2 AND check_at IS NOT NULL", item.table());
    db.execute(&sql, vec![Arg::Int(at), Arg::Text(id.into())]).await
}
