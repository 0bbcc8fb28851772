//! The database: SQLite (a file, the default) or PostgreSQL, behind sqlx's `Any`
//! driver so every query is written once. Queries use `$1` placeholders and SQL
//! both engines accept; the few dialect differences are methods here.

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyPool, Executor, Transaction};

use crate::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Connection pools. On SQLite all writes go through one connection, so writers
/// queue in the pool instead of spinning on `SQLITE_BUSY`, and each write
/// transaction starts with `BEGIN IMMEDIATE`, so a transaction that reads before
/// it writes cannot fail to upgrade its lock. On Postgres both are one pool.
#[derive(Clone)]
pub struct Db {
    backend: Backend,
    read: AnyPool,
    write: AnyPool,
}

pub type Tx = Transaction<'static, Any>;

/// One set of migrations for both engines, written in the SQL they share (TEXT
/// and BIGINT columns, no engine-specific types). The test suite applies them to
/// both on every run.
static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

impl Db {
    /// Connects to `url` (`sqlite://path` or `postgres://…`). A SQLite file and its
    /// directory are created if missing.
    pub async fn connect(url: &str) -> Result<Db, Error> {
        sqlx::any::install_default_drivers();
        if url.starts_with("sqlite:") {
            Self::connect_sqlite(url).await
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let options = AnyConnectOptions::from_str(url)?;
            let pool = AnyPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await?;
            Ok(Db { backend: Backend::Postgres, read: pool.clone(), write: pool })
        } else {
            Err(Error::Config(format!(
                "database URL must start with sqlite:// or postgres://, got `{}`",
                url.split(':').next().unwrap_or_default()
            )))
        }
    }

    async fn connect_sqlite(url: &str) -> Result<Db, Error> {
        let path = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
        let path = path.split('?').next().unwrap_or_default();
        if let Some(dir) = std::path::Path::new(path).parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::Config(format!("cannot create database directory {}: {e}", dir.display())))?;
        }
        let url = if url.contains('?') { url.to_owned() } else { format!("{url}?mode=rwc") };
        let options = AnyConnectOptions::from_str(&url)?;
        let pool = |max: u32| {
            AnyPoolOptions::new()
                .max_connections(max)
                .acquire_timeout(Duration::from_secs(10))
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        // WAL lets readers run while the writer commits; NORMAL sync is
                        // durable across application crashes in WAL mode and skips an
                        // fsync per commit; the timeout covers other processes (the CLI).
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                             PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;",
                        )
                        .await?;
                        Ok(())
                    })
                })
                .connect_with(options.clone())
        };
        let write = pool(1).await?;
        let read = pool(8).await?;
        Ok(Db { backend: Backend::Sqlite, read, write })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Applies any migrations not yet applied. Safe to run at every start.
    pub async fn migrate(&self) -> Result<(), Error> {
        MIGRATIONS.run(&self.write).await?;
        Ok(())
    }

    /// The pool for reads outside a write transaction.
    pub fn reader(&self) -> &AnyPool {
        &self.read
    }

    /// The pool for single-statement writes outside a transaction.
    pub fn writer(&self) -> &AnyPool {
        &self.write
    }

    /// Starts a write transaction.
    pub async fn begin(&self) -> Result<Tx, Error> {
        let tx = match self.backend {
            Backend::Sqlite => self.write.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.write.begin().await?,
        };
        Ok(tx)
    }

    /// `FOR UPDATE` where the engine has row locks. SQLite needs none: a write
    /// transaction already holds the database's single write lock.
    pub fn for_update(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE",
        }
    }

    pub async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }
}

/// Milliseconds since the Unix epoch: how every timestamp is stored.
pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
