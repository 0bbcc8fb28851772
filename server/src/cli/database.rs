//! `paylet migrate`, `backup` and `restore`: the database itself.

use std::path::Path;

use paylet::Error;
use paylet::config::Config;
use paylet::db::backup::{self, Outcome};

use super::connect;

pub async fn migrate(config: &Config) -> Result<(), Error> {
    connect(config).await?;
    println!("migrations applied");
    Ok(())
}

pub async fn backup(config: &Config, out: &Path) -> Result<(), Error> {
    let db = connect(config).await?;
    match backup::backup(&db, &config.database_url, out).await? {
        Outcome::Written(path) => println!("backup written to {}", path.display()),
        Outcome::Command(cmd) => println!("Postgres: back up with\n  {cmd}"),
    }
    Ok(())
}

pub async fn restore(config: &Config, from: &Path, force: bool) -> Result<(), Error> {
    match backup::restore(&config.database_url, from, force).await? {
        Outcome::Written(path) => println!("restored {} from {}", path.display(), from.display()),
        Outcome::Command(cmd) => println!("Postgres: restore with\n  {cmd}"),
    }
    Ok(())
}
