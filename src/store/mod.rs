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
pub mod flows;
pub mod grants;
pub mod groups;
pub mod instances;
pub mod maintenance;
pub mod objects;
pub mod policies;
pub mod providers;
pub mod scope_mappings;
pub mod stages;
pub mod tokens;
pub mod users;

pub mod authenticators;
pub mod consents;
pub mod dependents;
pub mod login_failures;
pub mod logins;
pub mod reputation;
pub mod sessions;
pub mod token_batch;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration as StdDuration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::{Connection, Sqlite, Transaction};
use tokio::sync::broadcast;

pub use changes::{Change, Topic};

/// A database connection, as other layers see it (they never build queries themselves).
pub type Conn = SqliteConnection;

/// Everything that can go wrong in the store, phrased so callers can tell the admin what to do.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file cannot be opened or is not a database.
    #[error("cannot open the store at {path}: {reason}")]
    Open { path: String, reason: String },
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
        if let sqlx::Error::Database(db) = &err {
            let msg = db.message();
            // SQLITE_BUSY (5) and its extended codes (261, 517, 773…): the busy timeout ran out.
            let busy = db
                .code()
                .and_then(|c| c.parse::<i32>().ok())
                .is_some_and(|c| c & 0xff == 5);
            if busy || msg.contains("database is locked") {
                return StoreError::Busy;
            }
            if let Some(cols) = msg.strip_prefix("UNIQUE constraint failed: ") {
                let field = cols
                    .split(',')
                    .map(|c| field_of_column(c.trim().rsplit('.').next().unwrap_or(c)))
                    .collect::<Vec<_>>()
                    .join(", ");
                return StoreError::Duplicate {
                    field,
                    value: String::new(),
                };
            }
            if msg.contains("FOREIGN KEY constraint failed") {
                return StoreError::InUse {
                    what: "the object".into(),
                    detail: "another object references it, or a referenced object is missing"
                        .into(),
                };
            }
        }
        StoreError::Sqlx(err)
    }
}

/// The object field a column stores, for messages that name what the admin typed.
fn field_of_column(column: &str) -> String {
    match column {
        "sort_order" => "order".into(),
        other => other.to_string(),
    }
}

/// Result alias for store calls.
pub type StoreResult<T> = Result<T, StoreError>;

/// Where the store lives: a file, or a throwaway in-memory database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// A SQLite file (created when missing).
    File(PathBuf),
    /// `:memory:`: gone when the process exits.
    Memory,
}

impl StoreLocation {
    /// Parses `--db`: `:memory:` or a path.
    pub fn parse(s: &str) -> Self {
        if s == ":memory:" {
            StoreLocation::Memory
        } else {
            StoreLocation::File(PathBuf::from(s))
        }
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

    /// For headers and messages.
    pub fn display(&self) -> String {
        match self {
            StoreLocation::File(p) => p.display().to_string(),
            StoreLocation::Memory => ":memory:".into(),
        }
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

/// The store: one pool over one SQLite file, plus the change channel every view listens to.
#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
    changes: broadcast::Sender<Change>,
    location: StoreLocation,
    /// In-process writers take this before `BEGIN IMMEDIATE`, so they queue in order instead
    /// of spinning in SQLite's busy handler (which sleeps in growing steps under contention).
    writer: Arc<tokio::sync::Mutex<()>>,
    /// Bumped synchronously by every commit that changed configuration (and by the external
    /// change poller): caches compare it on each read instead of waiting for the broadcast.
    config_generation: Arc<AtomicU64>,
    /// The token recorder's queue, started on first use (see [`token_batch`]).
    token_batch: Arc<std::sync::OnceLock<tokio::sync::mpsc::UnboundedSender<token_batch::Job>>>,
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("src/store/migrations");

impl Store {
    /// Opens (creating if needed) and migrates the store with the default [`StoreOptions`].
    pub async fn open(location: &StoreLocation) -> StoreResult<Self> {
        Self::open_with(location, StoreOptions::default()).await
    }

    /// Opens (creating if needed) and migrates the store. Pragmas are set explicitly: WAL,
    /// synchronous=NORMAL, foreign keys on, the busy timeout from `options`.
    pub async fn open_with(location: &StoreLocation, options: StoreOptions) -> StoreResult<Self> {
        let busy_timeout = options.busy_timeout;
        let (options, max) = match location {
            StoreLocation::File(path) => {
                ensure_parent(path)?;
                let opts = SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal);
                (opts, 8)
            }
            StoreLocation::Memory => {
                let opts = SqliteConnectOptions::from_str("sqlite::memory:").map_err(|e| {
                    StoreError::Open {
                        path: ":memory:".into(),
                        reason: e.to_string(),
                    }
                })?;
                (opts, 1)
            }
        };
        let options = options
            .foreign_keys(true)
            .busy_timeout(busy_timeout)
            .pragma("temp_store", "memory");
        let mut pool_opts = SqlitePoolOptions::new()
            .max_connections(max)
            .acquire_timeout(StdDuration::from_secs(30));
        if *location == StoreLocation::Memory {
            // One connection that never closes: an in-memory database lives as long as it.
            pool_opts = pool_opts
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None);
        }
        let open_err = |e: sqlx::Error| StoreError::Open {
            path: location.display(),
            reason: describe_open_error(&e),
        };
        let pool = pool_opts.connect_with(options).await.map_err(open_err)?;
        // A corrupt or non-database file fails here rather than at the first query.
        sqlx::query("SELECT count(*) FROM sqlite_master")
            .execute(&pool)
            .await
            .map_err(open_err)?;
        MIGRATOR.run(&pool).await.map_err(|e| match e {
            sqlx::migrate::MigrateError::Execute(inner) => open_err(inner),
            other => StoreError::Migrate(other),
        })?;
        let (changes, _) = broadcast::channel(256);
        Ok(Self {
            pool,
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

    /// A connection for reads (WAL readers never block the writer).
    pub async fn read(&self) -> StoreResult<sqlx::pool::PoolConnection<Sqlite>> {
        Ok(self.pool.acquire().await?)
    }

    /// Starts a read transaction: every read through it sees one consistent snapshot (WAL
    /// readers never block the writer, and the writer never changes what this one sees).
    pub async fn read_tx(&self) -> StoreResult<ReadTx> {
        Ok(ReadTx {
            tx: self.pool.begin().await?,
        })
    }

    /// Starts a write transaction with `BEGIN IMMEDIATE`, so the write lock is taken up front and
    /// concurrent writers queue on the busy timeout instead of failing with SQLITE_BUSY.
    pub async fn write_tx(&self) -> StoreResult<WriteTx> {
        let writer = self.writer.clone().lock_owned().await;
        let tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        Ok(WriteTx {
            tx,
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

    /// Starts the task that notices commits by other processes within about a second, through
    /// `PRAGMA data_version` on a dedicated connection, and publishes them.
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
        let StoreLocation::File(path) = &self.location else {
            return Ok(()); // nobody else can write an in-memory store
        };
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .busy_timeout(StdDuration::from_secs(5));
        let mut conn = SqliteConnection::connect_with(&opts).await?;
        let mut last_data_version = data_version(&mut conn).await?;
        let mut last = counters(&mut conn).await?;
        let mut tick = tokio::time::interval(StdDuration::from_millis(500));
        loop {
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = tick.tick() => {}
            }
            let dv = data_version(&mut conn).await?;
            if dv == last_data_version {
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

async fn data_version(conn: &mut SqliteConnection) -> StoreResult<i64> {
    Ok(sqlx::query_scalar("PRAGMA data_version")
        .fetch_one(conn)
        .await?)
}

/// The configuration counter: it moves with every committed configuration change, whichever
/// process made it (a plan made at one value is still current while it reads the same).
pub async fn config_version(conn: &mut SqliteConnection) -> StoreResult<i64> {
    Ok(
        sqlx::query_scalar("SELECT config_version FROM meta WHERE id = 1")
            .fetch_one(conn)
            .await?,
    )
}

async fn counters(conn: &mut SqliteConnection) -> StoreResult<(i64, i64, i64)> {
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

fn describe_open_error(err: &sqlx::Error) -> String {
    let text = err.to_string();
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

/// A read transaction (see [`Store::read_tx`]).
pub struct ReadTx {
    tx: Transaction<'static, Sqlite>,
}

impl ReadTx {
    /// The connection to read on.
    pub fn conn(&mut self) -> &mut SqliteConnection {
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
    tx: Transaction<'static, Sqlite>,
    topics: Vec<Topic>,
    changes: broadcast::Sender<Change>,
    config_generation: Arc<AtomicU64>,
    _writer: tokio::sync::OwnedMutexGuard<()>,
}

impl WriteTx {
    /// The connection to run statements on.
    pub fn conn(&mut self) -> &mut SqliteConnection {
        &mut self.tx
    }

    /// Notes that this transaction changed objects of `topic`.
    pub fn touch(&mut self, topic: Topic) {
        if !self.topics.contains(&topic) {
            self.topics.push(topic);
        }
    }

    /// Commits and then publishes every touched topic.
    pub async fn commit(self) -> StoreResult<()> {
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
