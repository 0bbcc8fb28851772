//! `paylet migrate`, `backup` and `restore`: the database itself.

use std::path::Path;

use paylet::Error;
use paylet::config::FileConfig;
use paylet::db::backup::{self, Outcome};

use super::{DatabaseArgs, connect};

pub async fn migrate(database: DatabaseArgs, file: &FileConfig) -> Result<(), Error> {
    connect(database, file).await?;
    println!("migrations applied");
    Ok(())
}

pub async fn backup(database: DatabaseArgs, out: &Path, file: &FileConfig) -> Result<(), Error> {
    let (db, url) = connect(database, file).await?;
    match backup::backup(&db, &url, out).await? {
        Outcome::Written(path) => println!("backup written to {}", path.display()),
        Outcome::Command(cmd) => println!("Postgres: back up with\n  {cmd}"),
    }
    Ok(())
}

pub async fn restore(database: DatabaseArgs, from: &Path, force: bool, file: &FileConfig) -> Result<(), Error> {
    let url = file.database_url(database.database_url);
    match backup::restore(&url, from, force).await? {
        Outcome::Written(path) => println!("restored {} from {}", path.display(), from.display()),
        Outcome::Command(cmd) => println!("Postgres: restore with\n  {cmd}"),
    }
    Ok(())
}
