//! The `customers` table.

use paylet_api::StoreId;

use super::{Arg, Batch};
use crate::ids;

/// Adds the customer to `batch` if new, else gives it `name` if it had none.
pub fn add(batch: &mut Batch, store: &StoreId, email: &str, name: Option<&str>, now: i64) {
    batch.add(
        "INSERT INTO customers (id, store_id, email, name, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5) \
         ON CONFLICT (store_id, email) DO UPDATE SET name = COALESCE(customers.name, excluded.name), \
         updated_at = excluded.updated_at",
        vec![
            Arg::Text(format!("cus_{}", ids::random_string(20))),
            Arg::Text(store.to_string()),
            Arg::Text(email.to_owned()),
            Arg::OptText(name.map(str::to_owned)),
            Arg::Int(now),
        ],
    );
}
