//! Group commit for tokens recorded on their own (client_credentials, app passwords): requests
//! that arrive together share one write transaction and one multi-row INSERT instead of three
//! round trips each. Every caller still waits for the commit that holds its row, so no token is
//! answered before it is recorded (revocation and introspection stay authoritative).

use sqlx::{QueryBuilder, Sqlite, SqliteConnection};
use tokio::sync::{mpsc, oneshot};

use super::grants::{AccessToken, RefreshToken, insert_refresh_token};
use super::{Store, StoreError, StoreResult, Topic};

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
        while let Some(first) = rx.recv().await {
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            let result = write(&store, &batch).await.map_err(|e| e.to_string());
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

async fn write(store: &Store, batch: &[Job]) -> StoreResult<()> {
    let mut tx = store.write_tx().await?;
    insert_access_tokens(tx.conn(), batch.iter().map(|j| &j.access)).await?;
    for refresh in batch.iter().filter_map(|j| j.refresh.as_ref()) {
        insert_refresh_token(tx.conn(), refresh).await?;
    }
    tx.touch(Topic::Tokens);
    tx.commit().await
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
