//! The `rate_counters` table: hits per subject per window, shared by every instance.

use sqlx::AnyConnection;

use super::{Arg, Db};
use crate::Error;

/// Counts one hit for `subject` in the window starting at `window`, in the
/// transaction on `conn`; the hits so far, this one included. One statement,
/// so two instances never lose a hit.
pub async fn hit(conn: &mut AnyConnection, subject: &str, window: i64) -> Result<i64, Error> {
    Ok(sqlx::query_scalar(
        "INSERT INTO rate_counters (subject, window_start, hits) VALUES ($1, $2, 1) \
         ON CONFLICT (subject, window_start) DO UPDATE SET hits = rate_counters.hits + 1 \
         RETURNING hits",
    )
    .bind(subject)
    .bind(window)
    .fetch_one(conn)
    .await?)
}

/// Deletes the windows that started before `current`; how many.
pub async fn expire(db: &Db, current: i64) -> Result<u64, Error> {
    db.changed("DELETE FROM rate_counters WHERE window_start < $1", vec![Arg::Int(current)]).await
}
