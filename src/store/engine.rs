//! The two engines under the store, SQLite and PostgreSQL, and everything that differs between
//! them: how to connect and set a connection up, how a write transaction takes the one writer
//! lock, how errors are told apart, and the few SQL fragments that are not portable. Every other
//! statement in the store is written once, in SQL both engines run (`$N` placeholders,
//! `ON CONFLICT`, `CASE` instead of two-argument `max`/`min`).

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyTypeInfo, AnyTypeInfoKind};
use sqlx::error::DatabaseError;
use sqlx::{Any, Decode, Executor, Type};

use super::{Conn, StoreError, StoreLocation, StoreResult};

/// Which database engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// The embedded default: one file (or `:memory:`), shared by the processes of one machine.
    Sqlite,
    /// A PostgreSQL server, shared by every instance that points at it.
    Postgres,
}

/// The key of the advisory lock every PostgreSQL write transaction takes, so that writers are
/// serialized across instances exactly as SQLite's `BEGIN IMMEDIATE` serializes them (every
/// read-then-write in the store relies on that).
pub const WRITER_LOCK_KEY: i64 = 0x6c61_7463_686b_6579; // "latchkey"

impl Engine {
    /// The engine behind a connection.
    pub fn of(conn: &Conn) -> Engine {
        if conn.backend_name().eq_ignore_ascii_case("postgresql") {
            Engine::Postgres
        } else {
            Engine::Sqlite
        }
    }

    /// Its name in messages.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Sqlite => "SQLite",
            Engine::Postgres => "PostgreSQL",
        }
    }

    /// Runs once on every new connection: SQLite's pragmas (WAL, synchronous=NORMAL, foreign
    /// keys, the busy timeout); PostgreSQL's session settings.
    pub(super) async fn init_session(self, conn: &mut Conn, busy: Duration) -> sqlx::Result<()> {
        let sql = match self {
            Engine::Sqlite => format!(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                 PRAGMA foreign_keys = ON; PRAGMA busy_timeout = {}; \
                 PRAGMA temp_store = memory;",
                busy.as_millis()
            ),
            Engine::Postgres => "SET application_name = 'latchkey'; \
                 SET idle_in_transaction_session_timeout = '60s';"
                .to_string(),
        };
        conn.execute(sqlx::AssertSqlSafe(sql)).await?;
        Ok(())
    }

    /// The statement that opens a write transaction.
    pub(super) fn begin_write(self) -> &'static str {
        match self {
            Engine::Sqlite => "BEGIN IMMEDIATE",
            Engine::Postgres => "BEGIN",
        }
    }

    /// Run right after [`Engine::begin_write`]: on PostgreSQL, the transaction-scoped writer
    /// lock, waited for at most `busy` (past it the statement fails and maps to
    /// [`StoreError::Busy`]).
    pub(super) fn take_writer_lock(self, busy: Duration) -> Option<String> {
        match self {
            Engine::Sqlite => None,
            Engine::Postgres => Some(format!(
                "SET LOCAL lock_timeout = '{}ms'; SELECT pg_advisory_xact_lock({WRITER_LOCK_KEY})",
                busy.as_millis().max(1)
            )),
        }
    }

    /// The statement that opens a read transaction seeing one consistent snapshot.
    pub(super) fn begin_read(self) -> Option<&'static str> {
        match self {
            Engine::Sqlite => None,
            Engine::Postgres => Some("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"),
        }
    }

    /// The names of latchkey's own tables.
    pub fn tables_sql(self) -> &'static str {
        match self {
            Engine::Sqlite => {
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
                 AND name NOT LIKE '_sqlx_%'"
            }
            Engine::Postgres => {
                "SELECT table_name::text FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
                 AND table_name NOT LIKE '\\_sqlx\\_%'"
            }
        }
    }

    /// A text member of a JSON text column, e.g. `json_text("ls.data", &["os", "name"])`.
    pub fn json_text(self, column: &str, path: &[&str]) -> String {
        match self {
            Engine::Sqlite => format!("json_extract({column}, '$.{}')", path.join(".")),
            Engine::Postgres => format!("(({column})::jsonb #>> '{{{}}}')", path.join(",")),
        }
    }

    /// A row identity usable in `DELETE … WHERE <id> IN (SELECT <id> … LIMIT n)`.
    pub(super) fn row_identity(self) -> &'static str {
        match self {
            Engine::Sqlite => "rowid",
            Engine::Postgres => "ctid",
        }
    }
}

/// The PostgreSQL channel a commit that changed something notifies.
const CHANGES_CHANNEL: &str = "latchkey_changes";

/// Sent inside a PostgreSQL write transaction that changed something (see [`ChangeFeed`]).
pub(super) const NOTIFY_CHANGES: &str = "SELECT pg_notify('latchkey_changes', '')";

/// PostgreSQL's `LISTEN` on the change channel: wakes the change poller as soon as another
/// instance commits. Absent on SQLite, and when listening failed (the poller's timer remains).
pub(super) struct ChangeFeed(Option<sqlx::postgres::PgListener>);

impl ChangeFeed {
    /// Listens when `location` is a PostgreSQL database.
    pub(super) async fn listen(location: &StoreLocation) -> ChangeFeed {
        let StoreLocation::Postgres(url) = location else {
            return ChangeFeed(None);
        };
        let listening = async {
            let mut listener = sqlx::postgres::PgListener::connect(url).await?;
            listener.listen(CHANGES_CHANNEL).await?;
            Ok::<_, sqlx::Error>(listener)
        };
        match listening.await {
            Ok(listener) => ChangeFeed(Some(listener)),
            Err(e) => {
                tracing::warn!(error = %e, "cannot LISTEN for changes; polling every 500 ms");
                ChangeFeed(None)
            }
        }
    }

    /// Waits for the next notification (forever when there is no feed). A lost connection
    /// ends the feed; the listener reconnects on the next call as sqlx's `PgListener` does.
    pub(super) async fn next(&mut self) {
        match &mut self.0 {
            Some(listener) => {
                if let Err(e) = listener.recv().await {
                    tracing::warn!(error = %e, "the change notification connection failed");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
            None => std::future::pending().await,
        }
    }
}

/// The URL sqlx connects to for a location (a file path made absolute and percent-encoded, so
/// that no part of it is read as a URL's host or query).
pub(super) fn connect_options(location: &StoreLocation) -> StoreResult<AnyConnectOptions> {
    let url = match location {
        StoreLocation::Memory => "sqlite::memory:".to_string(),
        StoreLocation::File(path) => sqlite_url(path)?,
        StoreLocation::Postgres(url) => url.clone(),
    };
    AnyConnectOptions::from_str(&url).map_err(|e| StoreError::Open {
        path: location.display(),
        reason: format!("{e}: check the URL (postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE)"),
    })
}

fn sqlite_url(path: &Path) -> StoreResult<String> {
    let absolute = std::path::absolute(path).map_err(|e| StoreError::Open {
        path: path.display().to_string(),
        reason: format!("cannot resolve the path: {e}"),
    })?;
    let file_url = url::Url::from_file_path(&absolute).map_err(|()| StoreError::Open {
        path: path.display().to_string(),
        reason: "the path cannot be expressed as a file URL".into(),
    })?;
    Ok(format!("sqlite://{}?mode=rwc", file_url.path()))
}

/// A PostgreSQL URL with its password replaced, for messages and the console's header.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            if parsed.set_password(Some("***")).is_err() {
                return "postgres://…".into();
            }
            parsed.to_string()
        }
        Ok(parsed) => parsed.to_string(),
        Err(_) => "postgres://…".into(),
    }
}

/// Maps an engine's error to the store's own, where it means something the caller acts on.
pub(super) fn classify(db: &dyn DatabaseError) -> Option<StoreError> {
    let code = db.code().map(|c| c.to_string()).unwrap_or_default();
    let msg = db.message();
    // SQLite: SQLITE_BUSY (5) and its extended codes (261, 517, 773…): the busy timeout ran out.
    let sqlite_busy = code.parse::<i32>().is_ok_and(|c| c & 0xff == 5);
    // PostgreSQL: lock_not_available (the writer lock's timeout), serialization failure,
    // deadlock.
    let pg_busy = matches!(code.as_str(), "55P03" | "40001" | "40P01");
    if sqlite_busy || pg_busy || msg.contains("database is locked") {
        return Some(StoreError::Busy);
    }
    if let Some(cols) = msg.strip_prefix("UNIQUE constraint failed: ") {
        let field = cols
            .split(',')
            .map(|c| field_of_column(c.trim().rsplit('.').next().unwrap_or(c)))
            .collect::<Vec<_>>()
            .join(", ");
        return Some(duplicate(field));
    }
    if code == "23505" {
        return Some(duplicate(pg_unique_columns(db)));
    }
    if msg.contains("FOREIGN KEY constraint failed") || code == "23503" {
        return Some(StoreError::InUse {
            what: "the object".into(),
            detail: "another object references it, or a referenced object is missing".into(),
        });
    }
    None
}

fn duplicate(field: String) -> StoreError {
    StoreError::Duplicate {
        field,
        value: String::new(),
    }
}

/// The columns of a PostgreSQL unique violation, from its detail (`Key (a, b)=(…) already
/// exists.`), named as the SQLite message names them.
fn pg_unique_columns(db: &dyn DatabaseError) -> String {
    let detail = db
        .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
        .and_then(|pg| pg.detail())
        .unwrap_or_default();
    let cols = detail
        .strip_prefix("Key (")
        .and_then(|rest| rest.split_once(")="))
        .map(|(cols, _)| cols)
        .unwrap_or("value");
    cols.split(',')
        .map(|c| field_of_column(c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The object field a column stores, for messages that name what the admin typed.
fn field_of_column(column: &str) -> String {
    match column {
        "sort_order" => "order".into(),
        other => other.to_string(),
    }
}

/// A yes/no column: PostgreSQL's `BOOLEAN`, SQLite's `INTEGER` 0/1 (sqlx's `Any` decodes
/// neither as the other), and any boolean expression either engine returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flag(pub bool);

impl From<Flag> for bool {
    fn from(flag: Flag) -> bool {
        flag.0
    }
}

impl Type<Any> for Flag {
    fn type_info() -> AnyTypeInfo {
        <bool as Type<Any>>::type_info()
    }

    fn compatible(ty: &AnyTypeInfo) -> bool {
        matches!(
            ty.kind(),
            AnyTypeInfoKind::Bool
                | AnyTypeInfoKind::SmallInt
                | AnyTypeInfoKind::Integer
                | AnyTypeInfoKind::BigInt
        )
    }
}

impl<'r> Decode<'r, Any> for Flag {
    fn decode(
        value: <Any as sqlx::Database>::ValueRef<'r>,
    ) -> Result<Self, sqlx::error::BoxDynError> {
        use sqlx::ValueRef;
        if value.type_info().kind() == AnyTypeInfoKind::Bool {
            return Ok(Flag(<bool as Decode<Any>>::decode(value)?));
        }
        Ok(Flag(<i64 as Decode<Any>>::decode(value)? != 0))
    }
}
