//! Backups. On SQLite, `VACUUM INTO` writes a consistent snapshot from one read
//! transaction, so it is safe while the server writes. Postgres has its own
//! tools; Paylet prints the commands.

use std::path::{Path, PathBuf};

use sqlx::Row;

use super::{Backend, Db};
use crate::Error;

pub enum Outcome {
    Written(PathBuf),
    /// The command to run instead (Postgres).
    Command(String),
}

/// The file path of a `sqlite://` URL.
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    Some(PathBuf::from(rest.split('?').next().unwrap_or(rest)))
}

/// A Postgres URL with its password, if any, replaced by `***` for printing.
fn redacted(url: &str) -> String {
    match url.split_once("://").and_then(|(scheme, rest)| Some((scheme, rest.split_once('@')?))) {
        Some((scheme, (userinfo, host))) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            let masked = if userinfo.contains(':') { format!("{user}:***") } else { user.to_owned() };
            format!("{scheme}://{masked}@{host}")
        }
        None => url.to_owned(),
    }
}

pub async fn backup(db: &Db, url: &str, out: &Path) -> Result<Outcome, Error> {
    if db.backend() == Backend::Postgres {
        return Ok(Outcome::Command(format!("pg_dump --format=custom --file '{}' '{}'", out.display(), redacted(url))));
    }
    if out.exists() {
        return Err(Error::Config(format!("{} exists; choose a new file", out.display())));
    }
    let target = out.to_str().ok_or_else(|| Error::Config("the backup path is not UTF-8".into()))?;
    sqlx::query("VACUUM INTO $1").bind(target).execute(db.reader()).await?;
    check(out).await?;
    Ok(Outcome::Written(out.to_path_buf()))
}

/// Replaces the database at `url` with the backup `from`. The server must be
/// stopped. Refuses to overwrite an existing database unless `force`.
pub async fn restore(url: &str, from: &Path, force: bool) -> Result<Outcome, Error> {
    let Some(target) = sqlite_path(url) else {
        return Ok(Outcome::Command(format!(
            "pg_restore --clean --if-exists --dbname '{}' '{}'",
            redacted(url),
            from.display()
        )));
    };
    check(from).await?;
    if target.exists() {
        if !force {
            return Err(Error::Config(format!(
                "{} exists; stop the server and pass --force to replace it",
                target.display()
            )));
        }
        for suffix in ["", "-wal", "-shm"] {
            let file = PathBuf::from(format!("{}{suffix}", target.display()));
            if file.exists() {
                std::fs::remove_file(&file)?;
            }
        }
    }
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let source = Db::connect(&format!("sqlite://{}", from.display())).await?;
    let target_str = target.to_str().ok_or_else(|| Error::Config("the database path is not UTF-8".into()))?;
    sqlx::query("VACUUM INTO $1").bind(target_str).execute(source.reader()).await?;
    source.close().await;
    let restored = Db::connect(url).await?;
    restored.migrate().await?;
    restored.close().await;
    Ok(Outcome::Written(target))
}

/// Refuses a file that is not a sound SQLite database of Paylet's.
async fn check(path: &Path) -> Result<(), Error> {
    if !path.is_file() {
        return Err(Error::Config(format!("{} does not exist", path.display())));
    }
    let db = Db::connect(&format!("sqlite://{}", path.display())).await?;
    let result: String = sqlx::query("PRAGMA integrity_check").fetch_one(db.reader()).await?.try_get(0)?;
    let has_schema = sqlx::query("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'orders'")
        .fetch_optional(db.reader())
        .await?
        .is_some();
    db.close().await;
    if result != "ok" {
        return Err(Error::Config(format!("{} fails SQLite's integrity check: {result}", path.display())));
    }
    if !has_schema {
        return Err(Error::Config(format!("{} is not a Paylet database", path.display())));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_not_printed() {
        assert_eq!(redacted("postgres://app:s3cret@db:5432/paylet"), "postgres://app:***@db:5432/paylet");
        assert_eq!(redacted("postgres://app@db/paylet"), "postgres://app@db/paylet");
    }

    #[test]
    fn sqlite_paths_come_from_urls() {
        assert_eq!(sqlite_path("sqlite://data/p.db?mode=rwc"), Some(PathBuf::from("data/p.db")));
        assert_eq!(sqlite_path("postgres://x"), None);
    }
}
