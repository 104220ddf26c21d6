//! The only user of sqlx: the pool and its pragmas, migrations, one module per aggregate,
//! `write_tx()` and change notification.

mod changes;
pub mod rows;

pub mod applications;
pub mod brands;
pub mod certificates;
pub mod connectors;
pub mod device_access_groups;
pub mod device_answer_keys;
pub mod device_auth_tokens;
pub mod device_codes;
pub mod device_tokens;
pub mod devices;
pub mod directory;
pub mod enrollment_tokens;
pub mod events;
pub mod flow_tokens;
pub mod flows;
pub mod grants;
pub mod groups;
pub mod instances;
pub mod invitations;
pub mod maintenance;
pub mod notifications;
pub mod objects;
pub mod policies;
pub mod providers;
pub mod scope_mappings;
pub mod stages;
pub mod tokens;
pub mod users;
pub mod webauthn_devices;

pub mod authenticators;
pub mod consents;
pub mod copy;
pub mod dependents;
pub mod login_failures;
pub mod logins;
pub mod reputation;
pub mod sessions;
pub mod static_tokens;
pub mod stats;
pub mod throttle_buckets;
pub mod token_batch;

mod engine;
pub use engine::{Engine, WRITER_LOCK_KEY};

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration as StdDuration;

use sqlx::Pool;
use sqlx::pool::PoolOptions;
use sqlx::{Any, Connection, Transaction};
use tokio::sync::broadcast;

pub use changes::{Change, Topic};

/// A database connection, as other layers see it (they never build queries themselves). One
/// type for both engines: the SQL the store sends is written to run on SQLite and PostgreSQL
/// alike, and the few statements that differ ask [`Engine`] for their dialect.
pub type Conn = sqlx::AnyConnection;

/// Everything that can go wrong in the store, phrased so callers can tell the admin what to do.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file or server cannot be opened or is not a latchkey database.
    #[error("cannot open the store at {path}: {reason}")]
    Open { path: String, reason: String },
    /// `--db` names something that is not a store (an unknown URL scheme).
    #[error("{0}")]
    Location(String),
    /// A migration failed (a newer or damaged store).
    #[error("cannot migrate the store: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A unique column already holds this value.
    #[error("{field} '{value}' is already taken: choose another")]
    Duplicate { field: String, value: String },
    /// The object was deleted meanwhile.
    #[error("{what} not found")]
    NotFound { what: String },
    /// Someone else saved the object since it was loaded.
    #[error("{what} was changed by someone else since you opened it: reload and try again")]
    Stale { what: String },
    /// Another object still references this one.
    #[error("{what} is still in use: {detail}")]
    InUse { what: String, detail: String },
    /// A JSON column did not decode.
    #[error("stored data for {what} is damaged: {reason}")]
    Corrupt { what: String, reason: String },
    /// Any other database error.
    #[error("database error: {0}")]
    Sqlx(sqlx::Error),
    /// The grouped token write failed (the message of the underlying error).
    #[error("database error: {0}")]
    Batch(String),
    /// Another connection (another process) held the write lock past the busy deadline; the
    /// caller may retry (HTTP answers 503 with `Retry-After`).
    #[error("the store is busy: another process held its write lock too long; try again")]
    Busy,
}

impl StoreError {
    /// True when retrying later may succeed (the write lock was held past the deadline).
    pub fn is_busy(&self) -> bool {
        matches!(self, StoreError::Busy)
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &err
            && let Some(mapped) = engine::classify(db.as_ref())
        {
            return mapped;
        }
        StoreError::Sqlx(err)
    }
}

/// Result alias for store calls.
pub type StoreResult<T> = Result<T, StoreError>;

/// Where the store lives: a SQLite file, a throwaway in-memory database, or a PostgreSQL
/// database shared by several instances.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// A SQLite file (created when missing).
    File(PathBuf),
    /// `:memory:`: gone when the process exits.
    Memory,
    /// `postgres://…`: a PostgreSQL database (it must exist; latchkey creates its tables).
    Postgres(String),
}

impl StoreLocation {
    /// Parses `--db`: `:memory:`, `sqlite:PATH`, `postgres://…` / `postgresql://…`, or a
    /// path. Any other `scheme://` is refused rather than taken as a file name.
    pub fn parse(s: &str) -> StoreResult<Self> {
        if s == ":memory:" || s == "sqlite::memory:" {
            return Ok(StoreLocation::Memory);
        }
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            return Ok(StoreLocation::Postgres(s.to_string()));
        }
        if let Some(path) = s
            .strip_prefix("sqlite://")
            .or_else(|| s.strip_prefix("sqlite:"))
        {
            if path.is_empty() {
                return Err(StoreError::Location(
                    "`sqlite:` needs a file path, e.g. --db sqlite:/var/lib/latchkey/latchkey.db"
                        .into(),
                ));
            }
            return Ok(StoreLocation::File(PathBuf::from(path)));
        }
        if let Some((scheme, _)) = s.split_once("://")
            && !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        {
            return Err(StoreError::Location(format!(
                "--db {s}: unknown store scheme `{scheme}://`; use a SQLite file path (or \
                 sqlite:PATH), :memory:, or postgres://USER@HOST:PORT/DATABASE"
            )));
        }
        Ok(StoreLocation::File(PathBuf::from(s)))
    }

    /// The default: `$XDG_DATA_HOME/latchkey/latchkey.db` (or the platform's data dir).
    pub fn default_file() -> Self {
        let base = std::env::var_os("XDG_DATA_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(dirs::data_dir)
            .unwrap_or_else(|| PathBuf::from("."));
        StoreLocation::File(base.join("latchkey").join("latchkey.db"))
    }

    /// For headers and messages (a PostgreSQL URL without its password).
    pub fn display(&self) -> String {
        match self {
            StoreLocation::File(p) => p.display().to_string(),
            StoreLocation::Memory => ":memory:".into(),
            StoreLocation::Postgres(url) => engine::redact_url(url),
        }
    }

    /// The engine this location is stored in.
    pub fn engine(&self) -> Engine {
        match self {
            StoreLocation::Postgres(_) => Engine::Postgres,
            _ => Engine::Sqlite,
        }
    }

    /// True when other processes can share this store (a file or a server, not `:memory:`).
    pub fn is_shared(&self) -> bool {
        !matches!(self, StoreLocation::Memory)
    }
}

/// How the store waits for other writers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreOptions {
    /// How long a write waits for another process's write lock before it fails with
    /// [`StoreError::Busy`] (HTTP answers 503 with `Retry-After`).
    pub busy_timeout: StdDuration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            busy_timeout: StdDuration::from_secs(5),
        }
    }
}

/// The store: one pool over one SQLite file or PostgreSQL database, plus the change channel
/// every view listens to.
#[derive(Clone)]
pub struct Store {
    pool: Pool<Any>,
    engine: Engine,
    options: StoreOptions,
    changes: broadcast::Sender<Change>,
    location: StoreLocation,
    /// In-process writers take this before opening a write transaction, so they queue in order
    /// instead of spinning in SQLite's busy handler (which sleeps in growing steps under
    /// contention) or waiting on PostgreSQL's writer lock one connection each.
    writer: Arc<tokio::sync::Mutex<()>>,
    /// Bumped synchronously by every commit that changed configuration (and by the external
    /// change poller): caches compare it on each read instead of waiting for the broadcast.
    config_generation: Arc<AtomicU64>,
    /// The token recorder's queue, started on first use (see [`token_batch`]).
    token_batch: Arc<std::sync::OnceLock<tokio::sync::mpsc::UnboundedSender<token_batch::Job>>>,
}

static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("src/store/migrations");
static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("src/store/migrations_postgres");

impl Store {
    /// Opens (creating if needed) and migrates the store with the default [`StoreOptions`].
    pub async fn open(location: &StoreLocation) -> StoreResult<Self> {
        Self::open_with(location, StoreOptions::default()).await
    }

    /// Opens (creating a SQLite file if needed) and migrates the store. Each new connection is
    /// set up by [`Engine::init_session`] (SQLite: WAL, synchronous=NORMAL, foreign keys, the
    /// busy timeout from `options`).
    pub async fn open_with(location: &StoreLocation, options: StoreOptions) -> StoreResult<Self> {
        sqlx::any::install_default_drivers();
        let engine = location.engine();
        if let StoreLocation::File(path) = location {
            ensure_parent(path)?;
        }
        let connect = engine::connect_options(location)?;
        let busy = options.busy_timeout;
        let max = match location {
            StoreLocation::File(_) => 8,
            StoreLocation::Memory => 1,
            StoreLocation::Postgres(_) => 16,
        };
        let mut pool_opts = PoolOptions::<Any>::new()
            .max_connections(max)
            .acquire_timeout(StdDuration::from_secs(30))
            .after_connect(move |conn, _| Box::pin(engine.init_session(conn, busy)));
        if *location == StoreLocation::Memory {
            // One connection that never closes: an in-memory database lives as long as it.
            pool_opts = pool_opts
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None);
        }
        let open_err = |e: sqlx::Error| StoreError::Open {
            path: location.display(),
            reason: describe_open_error(engine, &e),
        };
        // One direct attempt first: the pool retries a refused connection until its acquire
        // timeout (and logs each failure), and an unreachable server or a file that is not a
        // database must be one prompt error instead.
        probe(location, &connect, busy).await?;
        let pool = pool_opts.connect_with(connect).await.map_err(open_err)?;
        let migrator = match engine {
            Engine::Sqlite => &SQLITE_MIGRATOR,
            Engine::Postgres => &POSTGRES_MIGRATOR,
        };
        migrator.run(&pool).await.map_err(|e| match e {
            sqlx::migrate::MigrateError::Execute(inner) => open_err(inner),
            sqlx::migrate::MigrateError::VersionMissing(version) => StoreError::Open {
                path: location.display(),
                reason: format!(
                    "the store was last written by a newer latchkey (its schema has migration \
                     {version}, which this binary does not know): run that newer latchkey on \
                     it, or restore a backup taken before the upgrade"
                ),
            },
            other => StoreError::Migrate(other),
        })?;
        let (changes, _) = broadcast::channel(256);
        Ok(Self {
            pool,
            engine,
            options,
            changes,
            location: location.clone(),
            writer: Arc::new(tokio::sync::Mutex::new(())),
            config_generation: Arc::new(AtomicU64::new(0)),
            token_batch: Arc::new(std::sync::OnceLock::new()),
        })
    }

    /// This store without the token recorder's queue (what the recorder task itself holds, so
    /// it does not keep its own queue open).
    fn without_token_batch(&self) -> Store {
        Store {
            token_batch: Arc::new(std::sync::OnceLock::new()),
            ..self.clone()
        }
    }

    /// Where this store lives.
    pub fn location(&self) -> &StoreLocation {
        &self.location
    }

    /// The engine it runs on.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// A connection of its own, outside the pool, set up as the pool's are (the token
    /// recorder and the change poller keep one open).
    async fn connect_one(&self) -> StoreResult<Conn> {
        let mut conn = Conn::connect_with(&engine::connect_options(&self.location)?).await?;
        self.engine
            .init_session(&mut conn, self.options.busy_timeout)
            .await?;
        Ok(conn)
    }

    /// A connection for reads (WAL readers never block the writer).
    pub async fn read(&self) -> StoreResult<sqlx::pool::PoolConnection<Any>> {
        Ok(self.pool.acquire().await?)
    }

    /// Starts a read transaction: every read through it sees one consistent snapshot (WAL
    /// readers never block the writer, and the writer never changes what this one sees; on
    /// PostgreSQL a repeatable-read, read-only transaction).
    pub async fn read_tx(&self) -> StoreResult<ReadTx> {
        let tx = match self.engine.begin_read() {
            Some(begin) => self.pool.begin_with(begin).await?,
            None => self.pool.begin().await?,
        };
        Ok(ReadTx { tx })
    }

    /// Starts a write transaction holding the one writer lock: SQLite's `BEGIN IMMEDIATE`, or
    /// PostgreSQL's advisory lock, so concurrent writers (of any process) queue on the busy
    /// timeout instead of interleaving.
    pub async fn write_tx(&self) -> StoreResult<WriteTx> {
        let writer = self.writer.clone().lock_owned().await;
        let mut tx = self.pool.begin_with(self.engine.begin_write()).await?;
        if let Some(lock) = self.engine.take_writer_lock(self.options.busy_timeout) {
            sqlx::raw_sql(sqlx::AssertSqlSafe(lock))
                .execute(&mut *tx)
                .await?;
        }
        Ok(WriteTx {
            tx,
            engine: self.engine,
            topics: Vec::new(),
            changes: self.changes.clone(),
            config_generation: self.config_generation.clone(),
            _writer: writer,
        })
    }

    /// Changes whenever configuration changed (see [`Topic::affects_config`]); a cache built at
    /// generation `g` is current while this still returns `g`.
    pub fn config_generation(&self) -> u64 {
        self.config_generation.load(Ordering::SeqCst)
    }

    /// Subscribes to changes committed in this process and, via polling, by other processes.
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.changes.subscribe()
    }

    /// Publishes a change (used by the external-change poller).
    pub fn publish(&self, change: Change) {
        if change.topic.affects_config() {
            self.config_generation.fetch_add(1, Ordering::SeqCst);
        }
        let _ = self.changes.send(change);
    }

    /// Starts the task that notices commits by other processes and publishes them: SQLite's
    /// `PRAGMA data_version` on a dedicated connection every 500 ms; on PostgreSQL the change
    /// counters, read as soon as another instance's commit `NOTIFY`s (and every 500 ms should
    /// the notification connection drop).
    pub fn spawn_external_change_poller(
        &self,
        cancel: tokio_util::sync::CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        let store = self.clone();
        tokio::spawn(async move {
            if let Err(err) = store.poll_external_changes(cancel).await {
                tracing::warn!(error = %err, "external change poller stopped");
            }
        })
    }

    async fn poll_external_changes(
        &self,
        cancel: tokio_util::sync::CancellationToken,
    ) -> StoreResult<()> {
        if !self.location.is_shared() {
            return Ok(()); // nobody else can write an in-memory store
        }
        let mut conn = self.connect_one().await?;
        let mut feed = engine::ChangeFeed::listen(&self.location).await;
        let mut last_data_version = data_version(self.engine, &mut conn).await?;
        let mut last = counters(&mut conn).await?;
        let mut tick = tokio::time::interval(StdDuration::from_millis(500));
        loop {
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = tick.tick() => {}
                _ = feed.next() => {}
            }
            let dv = data_version(self.engine, &mut conn).await?;
            if dv.is_some() && dv == last_data_version {
                continue;
            }
            last_data_version = dv;
            let now = counters(&mut conn).await?;
            if now.0 != last.0 {
                self.publish(Change::new(Topic::All));
            }
            if now.1 != last.1 {
                self.publish(Change::new(Topic::Events));
            }
            if now.2 != last.2 {
                self.publish(Change::new(Topic::Devices));
            }
            last = now;
        }
        conn.close().await?;
        Ok(())
    }

    /// Closes the pool, checkpointing the WAL.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Connects once (within 10 s), sets the connection up and reads from it, and reports why
/// that failed as the admin must fix it: a server that cannot be reached, a missing database,
/// a file that is not a database.
async fn probe(
    location: &StoreLocation,
    connect: &sqlx::any::AnyConnectOptions,
    busy: StdDuration,
) -> StoreResult<()> {
    let engine = location.engine();
    let open_err = |reason: String| StoreError::Open {
        path: location.display(),
        reason,
    };
    let attempt = async {
        let mut conn = Conn::connect_with(connect).await?;
        engine.init_session(&mut conn, busy).await?;
        let check = match engine {
            Engine::Sqlite => "SELECT count(*) FROM sqlite_master",
            Engine::Postgres => "SELECT 1",
        };
        sqlx::query(check).execute(&mut conn).await?;
        conn.close().await
    };
    match tokio::time::timeout(StdDuration::from_secs(10), attempt).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(open_err(describe_open_error(engine, &e))),
        Err(_) => Err(open_err(format!(
            "no answer from the {} store within 10 s: check the host and port in the URL and \
             that the server is running and accepts TCP connections",
            engine.name()
        ))),
    }
}

/// SQLite's count of commits by other connections (`None` on PostgreSQL, where the counters
/// themselves are read every tick).
async fn data_version(engine: Engine, conn: &mut Conn) -> StoreResult<Option<i64>> {
    if engine != Engine::Sqlite {
        return Ok(None);
    }
    Ok(Some(
        sqlx::query_scalar("PRAGMA data_version")
            .fetch_one(conn)
            .await?,
    ))
}

/// The configuration counter: it moves with every committed configuration change, whichever
/// process made it (a plan made at one value is still current while it reads the same).
pub async fn config_version(conn: &mut Conn) -> StoreResult<i64> {
    Ok(
        sqlx::query_scalar("SELECT config_version FROM meta WHERE id = 1")
            .fetch_one(conn)
            .await?,
    )
}

async fn counters(conn: &mut Conn) -> StoreResult<(i64, i64, i64)> {
    Ok(sqlx::query_as(
        "SELECT config_version, events_version, devices_version FROM meta WHERE id = 1",
    )
    .fetch_one(conn)
    .await?)
}

fn ensure_parent(path: &Path) -> StoreResult<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| StoreError::Open {
            path: path.display().to_string(),
            reason: format!("cannot create directory {}: {e}", parent.display()),
        })?;
    }
    if path.is_dir() {
        return Err(StoreError::Open {
            path: path.display().to_string(),
            reason: "it is a directory; pass a file path with --db".into(),
        });
    }
    // Checked explicitly: SQLite would open a read-only file and fail only at the first write,
    // and permission bits do not stop root.
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().readonly()
    {
        return Err(StoreError::Open {
            path: path.display().to_string(),
            reason: "the file is read-only; make it writable (chmod u+w) or point --db at \
                     another file"
                .into(),
        });
    }
    Ok(())
}

fn describe_open_error(engine: Engine, err: &sqlx::Error) -> String {
    let text = err.to_string();
    if engine == Engine::Postgres {
        return describe_postgres_error(err, &text);
    }
    if text.contains("file is not a database") || text.contains("malformed") {
        "the file is not a latchkey/SQLite database or is damaged; restore it from a backup or \
         point --db at another file"
            .into()
    } else if text.contains("readonly") || text.contains("read-only") {
        "the file or its directory is read-only; fix the permissions or point --db elsewhere".into()
    } else if text.contains("unable to open") {
        "the file cannot be opened; check the path and its permissions".into()
    } else {
        text
    }
}

fn describe_postgres_error(err: &sqlx::Error, text: &str) -> String {
    let code = match err {
        sqlx::Error::Database(db) => db.code().map(|c| c.to_string()).unwrap_or_default(),
        _ => String::new(),
    };
    match code.as_str() {
        "3D000" => format!(
            "{text}: create it first (`createdb` or CREATE DATABASE), then start latchkey again"
        ),
        "28P01" | "28000" => format!(
            "{text}: check the user name and password in the URL (or PGPASSWORD) and \
             pg_hba.conf"
        ),
        _ if matches!(err, sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut) => format!(
            "cannot reach the PostgreSQL server ({text}): check the host and port in the URL \
             and that the server is running and accepts TCP connections"
        ),
        _ => text.to_string(),
    }
}

/// A read transaction (see [`Store::read_tx`]).
pub struct ReadTx {
    tx: Transaction<'static, Any>,
}

impl ReadTx {
    /// The connection to read on.
    pub fn conn(&mut self) -> &mut Conn {
        &mut self.tx
    }

    /// Ends the transaction.
    pub async fn finish(self) -> StoreResult<()> {
        self.tx.commit().await?;
        Ok(())
    }
}

/// A write transaction. Record what it touched with [`WriteTx::touch`]; [`WriteTx::commit`]
/// publishes those topics once the commit succeeded. Dropping it rolls back.
pub struct WriteTx {
    // Field order matters: the transaction rolls back (drops) before the writer lock is freed.
    tx: Transaction<'static, Any>,
    engine: Engine,
    topics: Vec<Topic>,
    changes: broadcast::Sender<Change>,
    config_generation: Arc<AtomicU64>,
    _writer: tokio::sync::OwnedMutexGuard<()>,
}

impl WriteTx {
    /// The connection to run statements on.
    pub fn conn(&mut self) -> &mut Conn {
        &mut self.tx
    }

    /// Notes that this transaction changed objects of `topic`.
    pub fn touch(&mut self, topic: Topic) {
        if !self.topics.contains(&topic) {
            self.topics.push(topic);
        }
    }

    /// Commits and then publishes every touched topic. On PostgreSQL the commit also wakes
    /// every other instance's change poller (`NOTIFY` is delivered when the transaction
    /// commits, and never when it rolls back).
    pub async fn commit(mut self) -> StoreResult<()> {
        if self.engine == Engine::Postgres && !self.topics.is_empty() {
            sqlx::query(engine::NOTIFY_CHANGES)
                .execute(&mut *self.tx)
                .await?;
        }
        self.tx.commit().await?;
        if self.topics.iter().any(|t| t.affects_config()) {
            self.config_generation.fetch_add(1, Ordering::SeqCst);
        }
        for topic in self.topics {
            let _ = self.changes.send(Change::new(topic));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_location_is_a_path_memory_sqlite_or_postgres() {
        let cases: &[(&str, StoreLocation)] = &[
            (":memory:", StoreLocation::Memory),
            ("sqlite::memory:", StoreLocation::Memory),
            (
                "data/latchkey.db",
                StoreLocation::File("data/latchkey.db".into()),
            ),
            (
                "sqlite:/var/lib/l.db",
                StoreLocation::File("/var/lib/l.db".into()),
            ),
            (
                "sqlite:///var/lib/l.db",
                StoreLocation::File("/var/lib/l.db".into()),
            ),
            (
                "postgres://u@h:5432/db",
                StoreLocation::Postgres("postgres://u@h:5432/db".into()),
            ),
            (
                "postgresql://u@h/db",
                StoreLocation::Postgres("postgresql://u@h/db".into()),
            ),
            // A colon in a file name is not a scheme.
            (
                "backup:2026.db",
                StoreLocation::File("backup:2026.db".into()),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(&StoreLocation::parse(input).expect(input), want, "{input}");
        }
    }

    #[test]
    fn an_unknown_scheme_or_an_empty_sqlite_path_is_refused() {
        for input in [
            "mysql://u@h/db",
            "postgress://u@h/db",
            "file://x.db",
            "sqlite:",
        ] {
            let err = StoreLocation::parse(input).expect_err(input).to_string();
            assert!(
                err.contains("postgres://") || err.contains("file path"),
                "{err}"
            );
        }
    }

    #[test]
    fn a_postgres_password_never_reaches_a_message() {
        let loc = StoreLocation::parse("postgres://admin:s3cret@db.internal:5432/latchkey")
            .expect("parse");
        let shown = loc.display();
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("db.internal"), "{shown}");
    }
}
