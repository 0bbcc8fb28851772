//! The database: SQLite (a file, the default) or PostgreSQL, behind sqlx's `Any`
//! driver so every query is written once. Queries use `$1` placeholders and SQL
//! both engines accept; the few dialect differences are methods here.
//!
//! Each table's queries, and the mapping of its rows to the domain's types,
//! are in one file below. Every write goes through the group-commit writer:
//! [`Db::write`] for a transaction that reads and decides, [`Db::write_batch`]
//! (and [`Db::execute`], a batch of one) for writes that need no answer, and
//! [`Db::changed`] for one statement whose count of rows decides something.

pub mod admin_keys;
pub mod backup;
pub mod checkout_sessions;
pub mod checks;
pub mod csp_reports;
pub mod customers;
pub mod gateway_events;
pub mod idempotency_keys;
pub mod notifications;
pub mod orders;
pub mod payment_attempts;
pub mod products;
pub mod rate_counters;
pub mod refunds;
pub mod stores;

use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::time::Duration;

use paylet_secret::KeyRing;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyConnection, AnyPool, Connection, Executor};
use tokio::sync::{mpsc, oneshot};

use crate::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The engine `conn` talks to.
    pub fn of(conn: &AnyConnection) -> Backend {
        if conn.backend_name().eq_ignore_ascii_case("postgresql") { Backend::Postgres } else { Backend::Sqlite }
    }

    /// `FOR UPDATE` where the engine has row locks. SQLite needs none: a write
    /// transaction already holds the database's single write lock.
    pub fn for_update(self) -> &'static str {
        match self {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE",
        }
    }

    /// Rows other instances are working on are passed over, not waited for
    /// (Postgres); SQLite has one writer, so there is nobody to pass over.
    pub fn skip_locked(self) -> &'static str {
        match self {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        }
    }
}

/// A failure of the database itself rather than of one query: the client
/// may try again once it passes, and nothing the request did was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outage {
    /// Unreachable, refusing connections, or locked by another process past
    /// the busy timeout.
    Unavailable,
    /// The disk under the database is full.
    StorageFull,
}

impl Outage {
    /// Which outage `e` is, if it is one.
    pub fn of(e: &sqlx::Error) -> Option<Outage> {
        match e {
            // No connection within the pool's acquire timeout: the database is
            // down, or every connection is stuck behind a lock.
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => Some(Outage::Unavailable),
            sqlx::Error::Database(db) => {
                let code = db.code()?;
                if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                    // An extended result code: its low byte is the primary code.
                    match code.parse::<i64>().ok()? & 0xff {
                        SQLITE_FULL => Some(Outage::StorageFull),
                        SQLITE_BUSY | SQLITE_LOCKED | SQLITE_IOERR | SQLITE_CANTOPEN => Some(Outage::Unavailable),
                        _ => None,
                    }
                } else {
                    // A Postgres SQLSTATE.
                    match code.as_ref() {
                        PG_DISK_FULL => Some(Outage::StorageFull),
                        // Connection exceptions, too many connections, and a
                        // server shutting down, starting up or crashed.
                        state if state.starts_with("08") || state.starts_with("53") || state.starts_with("57P") => {
                            Some(Outage::Unavailable)
                        }
                        _ => None,
                    }
                }
            }
            _ => None,
        }
    }
}

const SQLITE_BUSY: i64 = 5;
const SQLITE_LOCKED: i64 = 6;
const SQLITE_IOERR: i64 = 10;
const SQLITE_FULL: i64 = 13;
const SQLITE_CANTOPEN: i64 = 14;
const PG_DISK_FULL: &str = "53100";

/// How long a query waits for a connection before the request is answered
/// 503: long enough to ride out a burst or a brief blip, short enough that
/// the shopper hears back well inside the 60 s request limit (and a proxy's
/// own timeout) while the database is down.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

impl Db {
    /// A read-only transaction whose reads all see one moment, for views
    /// built from several queries.
    pub async fn snapshot(&self) -> Result<sqlx::Transaction<'static, Any>, Error> {
        let begin = match self.backend {
            Backend::Sqlite => "BEGIN",
            Backend::Postgres => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        };
        Ok(self.read.begin_with(begin).await?)
    }
}

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

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
    /// Seals and opens the secret columns; commands that touch no secret run without it.
    keys: Option<std::sync::Arc<KeyRing>>,
}

/// Held by the group writer for each commit, and briefly by the checkpointer
/// so that, once in a while, no frame is appended while it finishes.
type Gate = std::sync::Arc<tokio::sync::Mutex<()>>;

enum WriteJob {
    Batch { batch: Batch, done: oneshot::Sender<Result<(), Error>> },
    Work(Work),
}

/// A [`Db::write`] job with its types erased: it runs on the group's
/// connection and says whether it succeeded (so its savepoint is kept or
/// undone), and what to tell its caller once the commit's fate is known.
type Work = Box<dyn for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, (bool, Reply)> + Send>;
type Reply = Box<dyn FnOnce(Result<(), &sqlx::Error>) + Send>;

/// At most this many batches share one commit.
const MAX_GROUP: usize = 128;

/// The connection a write job runs on, inside its transaction (see [`Db::write`]).
pub type Conn = AnyConnection;

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
                .acquire_timeout(ACQUIRE_TIMEOUT)
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
                .acquire_timeout(ACQUIRE_TIMEOUT)
                // A ping before each use would be one more hand-off to the
                // connection's thread, doubling every query's cost; a local
                // file has no connection to go stale.
                .test_before_acquire(false)
                // A connection sqlx believes is still inside a transaction is
                // closed, not handed out: when SQLite rolls a failed COMMIT
                // back by itself (a full disk, an I/O error), sqlx's own
                // ROLLBACK then fails, and the connection would refuse every
                // later BEGIN. (Reading the depth is no hand-off to the thread.)
                .before_acquire(|conn, _| Box::pin(async move { Ok(!conn.is_in_transaction()) }))
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
        Db { backend, read, write, batches, keys: None }
    }

    /// The master keys that seal secrets written to this database and open them.
    pub fn with_keys(mut self, keys: KeyRing) -> Db {
        self.keys = Some(std::sync::Arc::new(keys));
        self
    }

    pub fn keys(&self) -> Result<&KeyRing, Error> {
        self.keys.as_deref().ok_or_else(|| {
            Error::Config(
                "stores' secrets are sealed: give the master key with PAYLET_MASTER_KEY or --master-key-file \
                 (make one with `paylet keys generate`)"
                    .into(),
            )
        })
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

    /// The writer's own pool, around the group writer: for tests and repairs
    /// that change rows as no request would. The server writes through
    /// [`Db::write`] and [`Db::write_batch`].
    pub fn writer(&self) -> &AnyPool {
        &self.write
    }

    /// Whether the database answers; the driver's own words when not.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1").execute(&self.read).await.map(|_| ())
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
    OptInt(Option<i64>),
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
            Arg::OptInt(v) => query.bind(*v),
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
        self.batches.send(WriteJob::Batch { batch, done }).await.map_err(|_| closed())?;
        result.await.map_err(|_| closed())??;
        Ok(())
    }

    /// One statement, committed (with others: see [`Db::write_batch`]).
    pub async fn execute(&self, sql: &str, args: Vec<Arg>) -> Result<(), Error> {
        let mut batch = Batch::default();
        batch.add(sql, args);
        self.write_batch(batch).await
    }

    /// One statement in a write transaction (see [`Db::write`]); how many rows it changed.
    pub async fn changed(&self, sql: &'static str, args: Vec<Arg>) -> Result<u64, Error> {
        self.write(move |conn| {
            Box::pin(async move { Ok(bind(sqlx::query(sql), &args).execute(conn).await?.rows_affected()) })
        })
        .await
    }

    /// Runs `job` in a write transaction and returns its result once that
    /// commits; a job that fails writes nothing. `job` may read what it needs
    /// and decide.
    ///
    /// On SQLite, which has one writer, the transaction is shared with the
    /// other jobs written at the same moment, each inside its own savepoint
    /// (group commit). On Postgres each job is its own transaction: grouping
    /// unrelated jobs there would let two server instances lock the same rows
    /// in different orders and deadlock.
    pub async fn write<T, F>(&self, job: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, Result<T, Error>> + Send + 'static,
    {
        if self.backend == Backend::Postgres {
            let mut tx = self.write.begin().await?;
            let value = job(&mut tx).await?;
            tx.commit().await?;
            return Ok(value);
        }
        let (done, result) = oneshot::channel();
        let work: Work = Box::new(move |conn| {
            Box::pin(async move {
                let outcome = job(conn).await;
                let ok = outcome.is_ok();
                let reply: Reply = Box::new(move |committed| {
                    let _ = done.send(match committed {
                        Ok(()) => outcome,
                        Err(e) => outcome.and(Err(Error::shared(e))),
                    });
                });
                (ok, reply)
            })
        });
        self.batches.send(WriteJob::Work(work)).await.map_err(|_| closed())?;
        result.await.map_err(|_| closed())?
    }
}

/// The group writer is gone (the database was closed) or dropped the job
/// unrun: nothing of it was written.
fn closed() -> Error {
    Error::DatabaseUnavailable("the database writer stopped before this write committed".into())
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

/// Takes every job waiting and commits them together, until the last `Db`
/// handle is dropped: the batches in one commit, the other jobs in another.
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
        let (mut batches, mut works) = (Vec::new(), Vec::new());
        for job in group {
            match job {
                WriteJob::Batch { batch, done } => batches.push((batch, done)),
                WriteJob::Work(work) => works.push(work),
            }
        }
        if !batches.is_empty() {
            commit_batches(backend, &pool, batches).await;
        }
        if !works.is_empty() {
            run_works(&pool, works).await;
        }
    }
}

async fn commit_batches(backend: Backend, pool: &AnyPool, group: Vec<(Batch, oneshot::Sender<Result<(), Error>>)>) {
    let batches: Vec<&Batch> = group.iter().map(|(b, _)| b).collect();
    match commit(backend, pool, &batches).await {
        Ok(()) => {
            for (_, done) in group {
                let _ = done.send(Ok(()));
            }
        }
        Err(e) if group.len() == 1 => {
            let _ = group.into_iter().next().map(|(_, done)| done.send(Err(e.into())));
        }
        // The database is down, locked or full: every batch would fail the
        // same way, and retrying each alone would make the last caller wait
        // out one busy timeout per batch before hearing so.
        Err(e) if Outage::of(&e).is_some() => {
            tracing::warn!(error = %e, batches = group.len(), "a group of writes failed: the database is unavailable");
            for (_, done) in group {
                let _ = done.send(Err(Error::shared(&e)));
            }
        }
        Err(_) => {
            for (batch, done) in group {
                let _ = done.send(commit(backend, pool, &[&batch]).await.map_err(Error::from));
            }
        }
    }
}

/// The jobs in one (SQLite) transaction, each in a savepoint; their callers
/// hear back after the commit.
async fn run_works(pool: &AnyPool, works: Vec<Work>) {
    let mut replies = Vec::with_capacity(works.len());
    let result: Result<(), sqlx::Error> = async {
        let mut conn = pool.acquire().await?;
        let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
        for work in works {
            let mut savepoint = tx.begin().await?;
            let (ok, reply) = work(&mut savepoint).await;
            replies.push(reply);
            if ok {
                savepoint.commit().await?;
            } else {
                savepoint.rollback().await?;
            }
        }
        tx.commit().await
    }
    .await;
    if let Err(e) = &result {
        tracing::error!(error = %e, "a grouped write transaction failed");
    }
    for reply in replies {
        reply(result.as_ref().map(|_| ()));
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
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, millis)
}

/// RFC 3339 for the merchant's API.
pub fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

/// A duration in milliseconds, as stored times are kept.
pub fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outages_are_told_apart_from_bugs() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(Outage::of(&sqlx::Error::PoolTimedOut), Some(Outage::Unavailable));
        assert_eq!(Outage::of(&sqlx::Error::Io(refused)), Some(Outage::Unavailable));
        assert_eq!(Outage::of(&sqlx::Error::RowNotFound), None);
        assert_eq!(Outage::of(&sqlx::Error::Protocol("unexpected message".into())), None);
    }

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
