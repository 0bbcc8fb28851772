//! `paylet orders`: a store's orders.

use clap::Subcommand;
use paylet::Error;
use paylet::config::Layers;
use paylet::orders::{self, OrderFilter};
use paylet_api::OrderStatus;
use serde_json::json;

use super::{DatabaseArgs, connect, print_json, store_id};

#[derive(Subcommand)]
pub enum OrdersCommand {
    /// List orders, newest first.
    List {
        /// The store's id (`st_…`).
        #[arg(long)]
        store: String,
        /// Only orders in this status: pending, requires_action, paid, partially_refunded, refunded, failed or canceled.
        #[arg(long)]
        status: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[command(flatten)]
        database: DatabaseArgs,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(command: OrdersCommand, layers: &Layers) -> Result<(), Error> {
    let OrdersCommand::List { store, status, limit, database, json } = command;
    let db = connect(&layers.with(&database).resolve()?).await?;
    let status = status
        .map(|s| OrderStatus::parse(&s).ok_or_else(|| Error::Config(format!("`{s}` is not an order status"))))
        .transpose()?;
    let page = orders::list(&db, &store_id(&store)?, &OrderFilter { status, limit, ..OrderFilter::default() }).await?;
    if json {
        print_json(&json!({ "data": page.orders, "next_cursor": page.next_cursor }));
    } else {
        for o in page.orders {
            println!("{}  {:<18}  {:>14}  {}  {}", o.id, o.status.as_str(), o.total, o.customer_email, o.created_at);
        }
    }
    Ok(())
}
