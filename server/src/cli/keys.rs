//! `paylet keys`: the master keys that seal the stores' secrets.

use clap::Subcommand;
use paylet::Error;
use paylet::config::Layers;
use paylet::stores;
use paylet_secret::KeyRing;

use super::{DatabaseArgs, connect};

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Print a new random master key (base64 of 32 bytes).
    Generate,
    /// Seal every stored secret under the current master key, the first of the
    /// ring. To rotate: put the new key first and keep the old one after it,
    /// run this, then drop the old key.
    Rotate {
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

pub async fn run(command: KeysCommand, layers: &Layers) -> Result<(), Error> {
    match command {
        KeysCommand::Generate => {
            println!("{}", KeyRing::generate().expose());
            Ok(())
        }
        KeysCommand::Rotate { database } => {
            let db = connect(&layers.with(&database).resolve()?).await?;
            let resealed = stores::reseal_secrets(&db).await?;
            println!("{resealed} secrets sealed anew with key {}", db.keys()?.current_id());
            Ok(())
        }
    }
}
