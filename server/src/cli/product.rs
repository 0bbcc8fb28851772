//! `paylet product`: a store's catalog.

use clap::Subcommand;
use paylet::Error;
use paylet::catalog::{self, Product, Sku};
use paylet::config::Layers;
use paylet::stores;
use paylet_api::Money;
use serde_json::json;

use super::{DatabaseArgs, connect, print_json, store_id};

#[derive(Subcommand)]
pub enum ProductCommand {
    /// Add a product.
    Add {
        /// The store's id (`st_…`).
        #[arg(long)]
        store: String,
        /// 1 to 64 letters, digits, `-`, `_` or `.`.
        #[arg(long)]
        sku: String,
        #[arg(long)]
        name: String,
        /// In the store's currency, e.g. 25.00.
        #[arg(long)]
        price: String,
        /// Add it not for sale yet.
        #[arg(long)]
        inactive: bool,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// List products.
    List {
        /// The store's id (`st_…`).
        #[arg(long)]
        store: String,
        #[command(flatten)]
        database: DatabaseArgs,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Change a product's name, price or sale status.
    Update {
        /// The store's id (`st_…`).
        #[arg(long)]
        store: String,
        #[arg(long)]
        sku: String,
        #[arg(long)]
        name: Option<String>,
        /// In the store's currency, e.g. 25.00.
        #[arg(long)]
        price: Option<String>,
        /// `true` to sell it, `false` to stop.
        #[arg(long)]
        active: Option<bool>,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

pub async fn run(command: ProductCommand, layers: &Layers) -> Result<(), Error> {
    match command {
        ProductCommand::Add { store, sku, name, price, inactive, database } => {
            let db = connect(&layers.with(&database).resolve()?).await?;
            let store = stores::find(&db, &store_id(&store)?).await?;
            let product = Product {
                sku: Sku::parse_field(&sku, "sku")?,
                name,
                price: Money::parse_decimal(&price, store.currency).map_err(|e| Error::Config(e.to_string()))?,
                active: !inactive,
            };
            catalog::add(&db, &store.id, store.currency, &product).await?;
            println!("added {} {} at {}", product.sku.as_str(), product.name, product.price);
            Ok(())
        }
        ProductCommand::List { store, database, json } => {
            let db = connect(&layers.with(&database).resolve()?).await?;
            let products = catalog::list_all(&db, &store_id(&store)?).await?;
            if json {
                print_json(&json!({ "data": products }));
            } else {
                for p in products {
                    println!(
                        "{:<20} {:>14}  {}  {}",
                        p.sku.as_str(),
                        p.price,
                        if p.active { "for sale" } else { "inactive" },
                        p.name
                    );
                }
            }
            Ok(())
        }
        ProductCommand::Update { store, sku, name, price, active, database } => {
            let db = connect(&layers.with(&database).resolve()?).await?;
            let store = stores::find(&db, &store_id(&store)?).await?;
            let sku = Sku::parse_field(&sku, "sku")?;
            let mut product = catalog::get(&db, &store.id, &sku).await?;
            if let Some(name) = name {
                product.name = name;
            }
            if let Some(price) = price {
                product.price =
                    Money::parse_decimal(&price, store.currency).map_err(|e| Error::Config(e.to_string()))?;
            }
            if let Some(active) = active {
                product.active = active;
            }
            catalog::upsert(&db, &store.id, &product).await?;
            println!("updated {} {} at {}", product.sku.as_str(), product.name, product.price);
            Ok(())
        }
    }
}
