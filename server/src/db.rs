//! The database: SQLite (a file, the default) or PostgreSQL, behind sqlx's `Any`
//! driver so every query is written once. Queries use `$1` placeholders and SQL
//! both engines accept; the few dialect differences are methods here.

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyPool, Executor, Transaction};
use tokio::sync::{mpsc, oneshot};

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
    /// The group-commit writer (see [`Db::write_batch`]).
    batches: mpsc::Sender<WriteJob>,
}

/// Held by the group writer for each commit, and briefly by the checkpointer
/// so that, once in a while, no frame is appended while it finishes.
type Gate = std::sync::Arc<tokio::sync::Mutex<()>>;

struct WriteJob {
    batch: Batch,
    done: oneshot::Sender<Result<(), sqlx::Error>>,
}

/// At most this many batches share one commit.
const MAX_GROUP: usize = 128;

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
            Ok(Db::new(Backend::Postgres, pool.clone(), pool))
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
        // Connections are opened up front, so the first requests do not pay for it.
        let pool = |min: u32, max: u32| {
            AnyPoolOptions::new()
                .min_connections(min)
                .max_connections(max)
                .acquire_timeout(Duration::from_secs(10))
                // A ping before each use would be one more hand-off to the
                // connection's thread, doubling every query's cost; a local
                // file has no connection to go stale.
                .test_before_acquire(false)
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        // WAL lets readers run while the writer commits; NORMAL sync is
                        // durable across application crashes in WAL mode and skips an
                        // fsync per commit; the timeout covers other processes (the CLI).
                        // Checkpoints run in the background (see `checkpointer`),
                        // never inside a commit.
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                             PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; PRAGMA wal_autocheckpoint = 0; \
                             PRAGMA journal_size_limit = 268435456;",
                        )
                        .await?;
                        Ok(())
                    })
                })
                .connect_with(options.clone())
        };
        let write = pool(1, 1).await?;
        let read = pool(8, 8).await?;
        Ok(Db::new(Backend::Sqlite, read, write))
    }

    fn new(backend: Backend, read: AnyPool, write: AnyPool) -> Db {
        let (batches, jobs) = mpsc::channel(4 * MAX_GROUP);
        let gate = Gate::default();
        tokio::spawn(group_writer(backend, write.clone(), jobs, gate.clone()));
        if backend == Backend::Sqlite {
            tokio::spawn(checkpointer(read.clone(), gate));
        }
        Db { backend, read, write, batches }
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

/// A value bound to a statement in a [`Batch`].
#[derive(Debug, Clone)]
pub enum Arg {
    Int(i64),
    Text(String),
    OptText(Option<String>),
}

/// Writes that commit together, sent in one round trip where the engine allows.
/// Each statement numbers its own parameters `$1…`.
#[derive(Debug, Default)]
pub struct Batch {
    statements: Vec<(String, Vec<Arg>)>,
}

impl Batch {
    pub fn add(&mut self, sql: impl Into<String>, args: Vec<Arg>) {
        self.statements.push((sql.into(), args));
    }
}

/// SQLite runs a group as one multi-statement text in one immediate
/// transaction, so the whole group is a single hand-off to the connection.
fn sqlite_text(batches: &[&Batch]) -> (String, Vec<Arg>) {
    let mut text = String::from("BEGIN IMMEDIATE;\n");
    let mut args = Vec::new();
    for (sql, a) in batches.iter().flat_map(|b| &b.statements) {
        text.push_str(&renumber(sql, args.len()));
        text.push_str(";\n");
        args.extend(a.iter().cloned());
    }
    text.push_str("COMMIT;");
    (text, args)
}

/// `$n` becomes `$(n + offset)`. Only placeholders use `$` in Paylet's SQL.
fn renumber(sql: &str, offset: usize) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '$' {
            let mut digits = String::new();
            while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                digits.push(*d);
                chars.next();
            }
            let n: usize = digits.parse().unwrap_or(0);
            out.push_str(&(n + offset).to_string());
        }
    }
    out
}

/// Binds `args` to `query` in order.
pub fn bind<'q>(
    mut query: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>,
    args: &'q [Arg],
) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>> {
    for arg in args {
        query = match arg {
            Arg::Int(v) => query.bind(*v),
            Arg::Text(v) => query.bind(v.as_str()),
            Arg::OptText(v) => query.bind(v.as_deref()),
        };
    }
    query
}

impl Db {
    /// Commits the batch atomically, in a transaction it may share with other
    /// batches written at the same moment (group commit). Many small commits
    /// rewrite the same table and index pages again and again; one commit for
    /// all of them writes each page once, which is what bounds write
    /// throughput. A batch that fails is retried alone, so it fails only itself.
    pub async fn write_batch(&self, batch: Batch) -> Result<(), Error> {
        let (done, result) = oneshot::channel();
        let job = WriteJob { batch, done };
        self.batches.send(job).await.map_err(|_| Error::Database(sqlx::Error::PoolClosed))?;
        result.await.map_err(|_| Error::Database(sqlx::Error::PoolClosed))??;
        Ok(())
    }
}

/// Copies the WAL back into the database file from a reader connection, so no
/// commit ever does it: SQLite would otherwise checkpoint inside whichever
/// commit crossed 1000 pages, stalling every request waiting on it.
///
/// A passive checkpoint never blocks the writer, but under constant writes it
/// never finishes either, and the WAL only starts over after one finishes. So
/// once a second the checkpointer catches up with the writer until little is
/// left, then holds the writer's gate for one last short pass, which finishes,
/// and the next commit starts the WAL from the beginning: its size stays bounded.
async fn checkpointer(pool: AnyPool, gate: Gate) {
    const CAUGHT_UP: Duration = Duration::from_millis(2);
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    let mut last_reset = std::time::Instant::now();
    loop {
        tick.tick().await;
        if pool.is_closed() {
            return;
        }
        let mut took = passive_checkpoint(&pool).await;
        if last_reset.elapsed() < Duration::from_secs(1) {
            continue;
        }
        for _ in 0..4 {
            if took < CAUGHT_UP {
                break;
            }
            took = passive_checkpoint(&pool).await;
        }
        let _held = gate.lock().await;
        passive_checkpoint(&pool).await;
        last_reset = std::time::Instant::now();
    }
}

/// One passive checkpoint; how long it took.
async fn passive_checkpoint(pool: &AnyPool) -> Duration {
    let started = std::time::Instant::now();
    if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(pool).await {
        tracing::warn!(error = %e, "WAL checkpoint failed");
    }
    started.elapsed()
}

/// Takes every batch waiting and commits them together, until the last `Db`
/// handle is dropped.
async fn group_writer(backend: Backend, pool: AnyPool, mut jobs: mpsc::Receiver<WriteJob>, gate: Gate) {
    while let Some(first) = jobs.recv().await {
        let _gate = gate.lock().await;
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match jobs.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let batches: Vec<&Batch> = group.iter().map(|j| &j.batch).collect();
        match commit(backend, &pool, &batches).await {
            Ok(()) => {
                for job in group {
                    let _ = job.done.send(Ok(()));
                }
            }
            Err(e) if group.len() == 1 => {
                let _ = group.into_iter().next().map(|job| job.done.send(Err(e)));
            }
            Err(_) => {
                for job in group {
                    let result = commit(backend, &pool, &[&job.batch]).await;
                    let _ = job.done.send(result);
                }
            }
        }
    }
}

/// The batches in one transaction. On SQLite it is a single multi-statement
/// text on the writer connection: one hand-off to sqlx's SQLite thread for the
/// whole group. On Postgres, one transaction.
async fn commit(backend: Backend, pool: &AnyPool, batches: &[&Batch]) -> Result<(), sqlx::Error> {
    match backend {
        Backend::Sqlite => {
            let (text, args) = sqlite_text(batches);
            let mut conn = pool.acquire().await?;
            // Each group's text differs: preparing it once is all it needs.
            if let Err(e) = bind(sqlx::query(&text).persistent(false), &args).execute(&mut *conn).await {
                // The text stopped part-way, inside its transaction: undo it
                // before the connection serves anyone else.
                let _ = conn.execute("ROLLBACK").await;
                return Err(e);
            }
            Ok(())
        }
        Backend::Postgres => {
            let mut tx = pool.begin().await?;
            for (sql, args) in batches.iter().flat_map(|b| &b.statements) {
                bind(sqlx::query(sql), args).execute(&mut *tx).await?;
            }
            tx.commit().await
        }
    }
}

/// Milliseconds since the Unix epoch: how every timestamp is stored.
pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renumbers_placeholders() {
        assert_eq!(renumber("INSERT INTO t VALUES ($1, $2, $1)", 3), "INSERT INTO t VALUES ($4, $5, $4)");
        assert_eq!(renumber("SELECT 1", 7), "SELECT 1");
    }

    #[test]
    fn a_group_is_one_immediate_transaction_on_sqlite() {
        let mut b = Batch::default();
        b.add("INSERT INTO a VALUES ($1, $2)", vec![Arg::Int(1), Arg::Int(2)]);
        b.add("UPDATE b SET x = $1", vec![Arg::Int(3)]);
        let mut c = Batch::default();
        c.add("DELETE FROM c WHERE id = $1", vec![Arg::Int(4)]);
        let (text, args) = sqlite_text(&[&b, &c]);
        assert_eq!(
            text,
            "BEGIN IMMEDIATE;\nINSERT INTO a VALUES ($1, $2);\nUPDATE b SET x = $3;\nDELETE FROM c WHERE id = $4;\nCOMMIT;"
        );
        assert_eq!(args.len(), 4);
    }
}
