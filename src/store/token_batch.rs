//! Group commit for issued tokens (client_credentials, app passwords, authorization-code
//! exchanges): requests that arrive together share one write transaction and one multi-row
//! INSERT instead of a transaction each. An exchange's code is consumed in that same
//! transaction, and its tokens are written only if the code was still unused, so a code still
//! yields tokens once. Every caller waits for the commit that holds its rows, so no token is
//! answered before it is recorded (revocation and introspection stay authoritative).

use sqlx::Executor;

use super::Conn;
use tokio::sync::{mpsc, oneshot};

use super::grants::{AccessToken, RefreshToken, consume_code, insert_refresh_token};
use super::{Change, Engine, Store, StoreError, StoreResult, Topic};

/// Rows per transaction at most (12 bound values each, far below SQLite's variable limit).
const MAX_BATCH: usize = 256;

/// The columns of one access-token row in the multi-row INSERT.
const ACCESS_TOKEN_COLUMNS: usize = 12;

/// One token waiting to be recorded.
pub(crate) struct Job {
    pub(crate) access: AccessToken,
    pub(crate) refresh: Option<RefreshToken>,
    /// The authorization code (id, time) these tokens are exchanged for, if any.
    pub(crate) consume: Option<(String, i64)>,
    pub(crate) done: oneshot::Sender<Result<Recorded, JobError>>,
}

impl Job {
    /// Only an access token to insert: no code to consume, no refresh token.
    fn is_access_token_only(&self) -> bool {
        self.consume.is_none() && self.refresh.is_none()
    }
}

/// Why a job was not recorded, cloneable so one failed batch can tell each of its callers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum JobError {
    /// The store stayed busy past its deadline: the caller may retry.
    Busy,
    /// Any other failure (its message).
    Failed(String),
}

impl From<&StoreError> for JobError {
    fn from(e: &StoreError) -> Self {
        if e.is_busy() {
            JobError::Busy
        } else {
            JobError::Failed(e.to_string())
        }
    }
}

impl From<JobError> for StoreError {
    fn from(e: JobError) -> Self {
        match e {
            JobError::Busy => StoreError::Busy,
            JobError::Failed(m) => StoreError::Batch(m),
        }
    }
}

/// What became of a job whose transaction committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// The tokens are stored (and the code, if any, consumed).
    Stored,
    /// The code had already been used: nothing was stored.
    CodeAlreadyUsed,
}

/// Starts the recorder task over `store` (which must not itself hold the recorder's sender,
/// so the task ends when the last store handle is dropped).
pub(crate) fn spawn(store: Store) -> mpsc::UnboundedSender<Job> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Job>();
    tokio::spawn(async move {
        let mut own: Option<Conn> = None;
        while let Some(first) = rx.recv().await {
            let batch = gather(first, &mut rx).await;
            let results = match write(&store, &mut own, &batch).await {
                Ok(per_job) => per_job,
                Err(e) => vec![Err(JobError::from(&e)); batch.len()],
            };
            let failed = results.iter().filter(|r| r.is_err()).count();
            if let Some(Err(e)) = results.iter().find(|r| r.is_err()) {
                tracing::error!(error = ?e, failed, tokens = batch.len(), "recording tokens failed");
            } else {
                tracing::debug!(tokens = batch.len(), "tokens recorded");
            }
            for (job, result) in batch.into_iter().zip(results) {
                let _ = job.done.send(result);
            }
        }
    });
    tx
}

/// The longest a batch waits for more jobs after its first (see [`gather`]).
const MAX_LINGER: std::time::Duration = std::time::Duration::from_millis(2);

/// The batch that starts with `first`. The recorder lets the tasks that are ready run first
/// (requests being signed), so their tokens join this batch, and goes on doing so while that
/// brings more: under load one commit then serves many requests (a commit's fixed cost, its
/// round trip and the pages every batch rewrites, is shared), and a lone request waits for
/// nothing, since a yield with nothing else ready returns at once and brings no job. At most
/// [`MAX_BATCH`] jobs and [`MAX_LINGER`] after the first: under load a response waits in
/// line anyway, and this only changes whose turn comes with which commit.
async fn gather(first: Job, rx: &mut mpsc::UnboundedReceiver<Job>) -> Vec<Job> {
    let started = std::time::Instant::now();
    let mut batch = vec![first];
    loop {
        tokio::task::yield_now().await;
        let before = batch.len();
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        if batch.len() == before || batch.len() >= MAX_BATCH || started.elapsed() >= MAX_LINGER {
            return batch;
        }
    }
}

/// What one batch's callers are told, in batch order.
type Outcomes = Vec<Result<Recorded, JobError>>;

/// Writes one batch: one multi-row INSERT in one transaction. When that fails (a provider or
/// user deleted meanwhile breaks a foreign key), the transaction is undone and the jobs are
/// written again one by one, each under its own savepoint, so only the bad ones fail.
///
/// A file store gets the recorder's own connection, kept open: pool connections are handed out
/// in turn, so each batch would otherwise land on a connection whose page cache the previous
/// write made stale and re-read its pages (a `perf` profile showed ~8 % of the server's cycles
/// in those reads). The in-process writer lock is taken as by [`Store::write_tx`], and the
/// commit is published the same way.
async fn write(store: &Store, own: &mut Option<Conn>, batch: &[Job]) -> StoreResult<Outcomes> {
    if !store.location.is_shared() {
        // An in-memory store is one connection: there is nothing else to use.
        let mut tx = store.write_tx().await?;
        if let Ok(recorded) = insert_batch(tx.conn(), store.engine, batch).await {
            tx.touch(Topic::Tokens);
            tx.commit().await?;
            return Ok(recorded.into_iter().map(Ok).collect());
        }
        drop(tx); // rolls back
        let mut tx = store.write_tx().await?;
        let outcomes = insert_each(tx.conn(), store.engine, batch).await?;
        tx.touch(Topic::Tokens);
        tx.commit().await?;
        return Ok(outcomes);
    }
    let _writer = store.writer.clone().lock_owned().await;
    let conn = match own {
        Some(c) => c,
        None => own.insert(store.connect_one().await?),
    };
    let outcomes = match in_transaction(store, conn, batch).await {
        Ok(outcomes) => outcomes,
        Err(e) => {
            // A connection in an unknown state is not reused.
            *own = None;
            return Err(e);
        }
    };
    store.publish(Change::new(Topic::Tokens));
    Ok(outcomes)
}

/// [`write`]'s transaction on the recorder's own connection: the batch at once, or, when that
/// fails (but for a lock that stayed busy: the whole busy timeout was waited already), rolled
/// back and written again job by job.
async fn in_transaction(store: &Store, conn: &mut Conn, batch: &[Job]) -> StoreResult<Outcomes> {
    match whole_batch(store, conn, batch).await {
        Ok(recorded) => Ok(recorded.into_iter().map(Ok).collect()),
        Err(e) if e.is_busy() => Err(e),
        Err(_) => {
            // The transaction is open when the INSERT or the COMMIT failed, and not when BEGIN
            // did; a ROLLBACK without one is refused and changes nothing.
            if let Err(e) = conn.execute("ROLLBACK").await {
                tracing::debug!(error = %e, "no transaction to roll back");
            }
            begin_write(store, conn).await?;
            finish_one_by_one(conn, store.engine, batch).await
        }
    }
}

/// The batch in one transaction: on SQLite, a batch of access tokens alone in one round trip
/// ([`in_one_round_trip`]); otherwise `BEGIN`, the batch's statements and `COMMIT`.
async fn whole_batch(store: &Store, conn: &mut Conn, batch: &[Job]) -> StoreResult<Vec<Recorded>> {
    if store.engine == Engine::Sqlite && batch.iter().all(Job::is_access_token_only) {
        in_one_round_trip(conn, batch).await?;
        return Ok(vec![Recorded::Stored; batch.len()]);
    }
    begin_write(store, conn).await?;
    let recorded = insert_batch(conn, store.engine, batch).await?;
    conn.execute("COMMIT").await?;
    Ok(recorded)
}

/// After a failed batch, in a fresh write transaction: every job under its own savepoint, then
/// the commit (rolled back if that fails, so every job fails with it).
async fn finish_one_by_one(
    conn: &mut Conn,
    engine: Engine,
    batch: &[Job],
) -> StoreResult<Outcomes> {
    let outcomes = insert_each(conn, engine, batch).await;
    match outcomes {
        Ok(o) => {
            conn.execute("COMMIT").await?;
            Ok(o)
        }
        Err(e) => {
            let _ = conn.execute("ROLLBACK").await;
            Err(e)
        }
    }
}

/// Opens a write transaction on the recorder's own connection, holding the writer lock as
/// [`Store::write_tx`] does.
async fn begin_write(store: &Store, conn: &mut Conn) -> StoreResult<()> {
    conn.execute(store.engine.begin_write()).await?;
    if let Some(lock) = store.engine.take_writer_lock(store.options.busy_timeout) {
        conn.execute(sqlx::AssertSqlSafe(lock)).await?;
    }
    Ok(())
}

/// Writes each job under its own savepoint inside the open transaction.
async fn insert_each(conn: &mut Conn, engine: Engine, batch: &[Job]) -> StoreResult<Outcomes> {
    let mut outcomes = Vec::with_capacity(batch.len());
    for job in batch {
        conn.execute("SAVEPOINT token_job").await?;
        match insert_batch(conn, engine, std::slice::from_ref(job)).await {
            Ok(recorded) => outcomes.push(Ok(recorded
                .first()
                .copied()
                .unwrap_or(Recorded::CodeAlreadyUsed))),
            Err(e) => {
                conn.execute("ROLLBACK TO token_job").await?;
                outcomes.push(Err(JobError::from(&e)));
            }
        }
        conn.execute("RELEASE token_job").await?;
    }
    Ok(outcomes)
}

/// Consumes the batch's codes (in batch order, so of two exchanges of one code the first wins),
/// then writes the tokens of every job whose code was still unused, or that had none.
async fn insert_batch(
    conn: &mut Conn,
    engine: Engine,
    batch: &[Job],
) -> StoreResult<Vec<Recorded>> {
    let mut recorded = Vec::with_capacity(batch.len());
    for job in batch {
        recorded.push(match &job.consume {
            Some((code_id, now)) if !consume_code(conn, code_id, *now).await? => {
                Recorded::CodeAlreadyUsed
            }
            _ => Recorded::Stored,
        });
    }
    let stored: Vec<&Job> = batch
        .iter()
        .zip(&recorded)
        .filter(|(_, r)| **r == Recorded::Stored)
        .map(|(j, _)| j)
        .collect();
    if !stored.is_empty() {
        insert_access_tokens(conn, engine, stored.iter().map(|j| &j.access)).await?;
    }
    for refresh in stored.iter().filter_map(|j| j.refresh.as_ref()) {
        insert_refresh_token(conn, refresh).await?;
    }
    Ok(recorded)
}

/// One INSERT for many access tokens.
pub async fn insert_access_tokens<'a>(
    conn: &mut Conn,
    engine: Engine,
    tokens: impl Iterator<Item = &'a AccessToken>,
) -> StoreResult<()> {
    let tokens: Vec<&AccessToken> = tokens.collect();
    if tokens.is_empty() {
        return Ok(());
    }
    let mut sql = String::with_capacity(200 + tokens.len() * 64);
    push_access_tokens_insert(&mut sql, engine, tokens.len());
    bind_access_tokens(sqlx::query(sqlx::AssertSqlSafe(sql)), tokens)
        .execute(conn)
        .await?;
    Ok(())
}

/// SQLite only: `BEGIN IMMEDIATE`, the batch's INSERT and `COMMIT` as one statement string, so
/// the whole transaction is one round trip to the connection's worker thread instead of three
/// (each a pair of thread switches on a busy core). Only for batches of access tokens alone
/// (no code to consume, no refresh token). On an error the transaction may be left open:
/// [`in_transaction`] rolls it back.
async fn in_one_round_trip(conn: &mut Conn, batch: &[Job]) -> StoreResult<()> {
    let mut sql = String::with_capacity(240 + batch.len() * 26);
    sql.push_str("BEGIN IMMEDIATE; ");
    push_access_tokens_insert(&mut sql, Engine::Sqlite, batch.len());
    sql.push_str("; COMMIT");
    let query = sqlx::query(sqlx::AssertSqlSafe(sql));
    bind_access_tokens(query, batch.iter().map(|j| &j.access))
        .execute(conn)
        .await?;
    Ok(())
}

/// The INSERT of `rows` access tokens. SQLite gets anonymous `?` parameters: it looks a named
/// one (`$N`) up in a list on every bind, which made binding a batch quadratic in its size
/// (`sqlite3_bind_parameter_name` took ~3 % of the token endpoint's CPU); PostgreSQL has only
/// `$N`.
fn push_access_tokens_insert(sql: &mut String, engine: Engine, rows: usize) {
    sql.push_str(
        "INSERT INTO access_tokens (id, token_digest, family_id, provider_id, user_id, \
         session_id, scope, claims, auth_time, expires_at, revoked_at, created_at) VALUES ",
    );
    for i in 0..rows {
        if i > 0 {
            sql.push(',');
        }
        sql.push('(');
        for col in 0..ACCESS_TOKEN_COLUMNS {
            if col > 0 {
                sql.push(',');
            }
            match engine {
                Engine::Sqlite => sql.push('?'),
                Engine::Postgres => {
                    sql.push('$');
                    sql.push_str(&(i * ACCESS_TOKEN_COLUMNS + col + 1).to_string());
                }
            }
        }
        sql.push(')');
    }
}

/// Binds every token's columns, in [`push_access_tokens_insert`]'s order.
fn bind_access_tokens<'q, 'a>(
    mut query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    tokens: impl IntoIterator<Item = &'a AccessToken>,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    for t in tokens {
        query = query
            .bind(t.id.clone())
            .bind(t.token_digest.clone())
            .bind(t.family_id.clone())
            .bind(t.provider_id.clone())
            .bind(t.user_id.clone())
            .bind(t.session_id.clone())
            .bind(t.scope.clone())
            .bind(t.claims.clone())
            .bind(t.auth_time)
            .bind(t.expires_at)
            .bind(t.revoked_at)
            .bind(t.created_at);
    }
    query
}

impl Store {
    /// Records an access token (and its refresh token) through the group commit; returns once
    /// the transaction holding it committed.
    pub async fn record_tokens(
        &self,
        access: AccessToken,
        refresh: Option<RefreshToken>,
    ) -> StoreResult<()> {
        self.submit(access, refresh, None).await.map(|_| ())
    }

    /// Consumes the authorization code `code_id` and records the tokens issued for it, in one
    /// group-committed transaction; returns [`Recorded::CodeAlreadyUsed`] (and stores nothing)
    /// when the code had already been consumed.
    pub async fn record_code_exchange(
        &self,
        code_id: &str,
        now: i64,
        access: AccessToken,
        refresh: Option<RefreshToken>,
    ) -> StoreResult<Recorded> {
        self.submit(access, refresh, Some((code_id.to_string(), now)))
            .await
    }

    async fn submit(
        &self,
        access: AccessToken,
        refresh: Option<RefreshToken>,
        consume: Option<(String, i64)>,
    ) -> StoreResult<Recorded> {
        let sender = self
            .token_batch
            .get_or_init(|| spawn(self.without_token_batch()));
        let (done, wait) = oneshot::channel();
        sender
            .send(Job {
                access,
                refresh,
                consume,
                done,
            })
            .map_err(|_| StoreError::Batch("the token recorder stopped".into()))?;
        wait.await
            .map_err(|_| StoreError::Batch("the token recorder stopped".into()))?
            .map_err(StoreError::from)
    }
}
