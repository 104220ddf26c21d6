//! Group commit for tokens recorded on their own (client_credentials, app passwords): requests
//! that arrive together share one write transaction and one multi-row INSERT instead of three
//! round trips each. Every caller still waits for the commit that holds its row, so no token is
//! answered before it is recorded (revocation and introspection stay authoritative).

use sqlx::{Connection, Executor, QueryBuilder, Sqlite, SqliteConnection};
use tokio::sync::{mpsc, oneshot};

use super::grants::{AccessToken, RefreshToken, insert_refresh_token};
use super::{Change, Store, StoreError, StoreLocation, StoreResult, Topic};

/// Rows per transaction at most (12 bound values each, far below SQLite's variable limit).
const MAX_BATCH: usize = 256;

/// One token waiting to be recorded.
pub(crate) struct Job {
    pub(crate) access: AccessToken,
    pub(crate) refresh: Option<RefreshToken>,
    pub(crate) done: oneshot::Sender<Result<(), String>>,
}

/// Starts the recorder task over `store` (which must not itself hold the recorder's sender,
/// so the task ends when the last store handle is dropped).
pub(crate) fn spawn(store: Store) -> mpsc::UnboundedSender<Job> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Job>();
    tokio::spawn(async move {
        let mut own: Option<SqliteConnection> = None;
        while let Some(first) = rx.recv().await {
            // Let the tasks that are ready now (requests being signed) run first, so their
            // tokens join this batch: one commit then serves them all. With nothing else ready
            // this returns at once, so a lone request waits for nothing.
            tokio::task::yield_now().await;
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            let result = write(&store, &mut own, &batch)
                .await
                .map_err(|e| e.to_string());
            if let Err(e) = &result {
                tracing::error!(error = %e, tokens = batch.len(), "recording tokens failed");
            }
            for job in batch {
                let _ = job.done.send(result.clone());
            }
        }
    });
    tx
}

/// Writes one batch. A file store gets the recorder's own connection, kept open: pool
/// connections are handed out in turn, so each batch would otherwise land on a connection whose
/// page cache the previous write made stale and re-read its pages (a `perf` profile showed ~8 %
/// of the server's cycles in those reads). The in-process writer lock is taken as by
/// [`Store::write_tx`], and the commit is published the same way.
async fn write(
    store: &Store,
    own: &mut Option<SqliteConnection>,
    batch: &[Job],
) -> StoreResult<()> {
    if !matches!(store.location, StoreLocation::File(_)) {
        // An in-memory store is one connection: there is nothing else to use.
        let mut tx = store.write_tx().await?;
        insert_batch(tx.conn(), batch).await?;
        tx.touch(Topic::Tokens);
        return tx.commit().await;
    }
    let _writer = store.writer.clone().lock_owned().await;
    let conn = match own {
        Some(c) => c,
        None => own.insert(SqliteConnection::connect_with(&store.pool.connect_options()).await?),
    };
    conn.execute("BEGIN IMMEDIATE").await?;
    let written = insert_batch(conn, batch).await;
    let finished = match written {
        Ok(()) => conn.execute("COMMIT").await.map(|_| ()),
        Err(e) => {
            if conn.execute("ROLLBACK").await.is_err() {
                *own = None;
            }
            return Err(e);
        }
    };
    if let Err(e) = finished {
        // A connection in an unknown state is not reused.
        *own = None;
        return Err(e.into());
    }
    store.publish(Change::new(Topic::Tokens));
    Ok(())
}

async fn insert_batch(conn: &mut SqliteConnection, batch: &[Job]) -> StoreResult<()> {
    insert_access_tokens(conn, batch.iter().map(|j| &j.access)).await?;
    for refresh in batch.iter().filter_map(|j| j.refresh.as_ref()) {
        insert_refresh_token(conn, refresh).await?;
    }
    Ok(())
}

/// One INSERT for many access tokens.
pub async fn insert_access_tokens<'a>(
    conn: &mut SqliteConnection,
    tokens: impl Iterator<Item = &'a AccessToken>,
) -> StoreResult<()> {
    let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
        "INSERT INTO access_tokens (id, token_digest, family_id, provider_id, user_id, \
         session_id, scope, claims, auth_time, expires_at, revoked_at, created_at) ",
    );
    qb.push_values(tokens, |mut row, t| {
        row.push_bind(t.id.clone())
            .push_bind(t.token_digest.clone())
            .push_bind(t.family_id.clone())
            .push_bind(t.provider_id.clone())
            .push_bind(t.user_id.clone())
            .push_bind(t.session_id.clone())
            .push_bind(t.scope.clone())
            .push_bind(t.claims.clone())
            .push_bind(t.auth_time)
            .push_bind(t.expires_at)
            .push_bind(t.revoked_at)
            .push_bind(t.created_at);
    });
    qb.build().execute(conn).await?;
    Ok(())
}

impl Store {
    /// Records an access token (and its refresh token) through the group commit; returns once
    /// the transaction holding it committed.
    pub async fn record_tokens(
        &self,
        access: AccessToken,
        refresh: Option<RefreshToken>,
    ) -> StoreResult<()> {
        let sender = self
            .token_batch
            .get_or_init(|| spawn(self.without_token_batch()));
        let (done, wait) = oneshot::channel();
        sender
            .send(Job {
                access,
                refresh,
                done,
            })
            .map_err(|_| StoreError::Batch("the token recorder stopped".into()))?;
        wait.await
            .map_err(|_| StoreError::Batch("the token recorder stopped".into()))?
            .map_err(StoreError::Batch)
    }
}
