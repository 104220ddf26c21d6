//! The servers running on this store: one row per `serve` or `run` process, written at start,
//! touched by its heartbeat and deleted on a clean stop. Writes publish no change (and bump no
//! counter), so heartbeats never make other processes reload.

use super::{Store, StoreResult};

/// One server as it recorded itself.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct InstanceRow {
    /// A random id the process chose at start.
    pub id: String,
    /// The public base URL it serves (the issuer's base).
    pub public_url: String,
    /// The address its listener is bound to.
    pub listen: String,
    /// The host it runs on.
    pub host: String,
    /// Its process id on that host.
    pub pid: i64,
    /// latchkey's version.
    pub version: String,
    /// When it started (unix seconds).
    pub started_at: i64,
    /// Its last heartbeat (unix seconds).
    pub heartbeat_at: i64,
}

/// Records `row` (replacing a row with its id).
pub async fn register(store: &Store, row: &InstanceRow) -> StoreResult<()> {
    let mut tx = store.write_tx().await?;
    sqlx::query(
        "INSERT INTO instances \
         (id, public_url, listen, host, pid, version, started_at, heartbeat_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO UPDATE SET \
         public_url = excluded.public_url, listen = excluded.listen, host = excluded.host, \
         pid = excluded.pid, version = excluded.version, started_at = excluded.started_at, \
         heartbeat_at = excluded.heartbeat_at",
    )
    .bind(&row.id)
    .bind(&row.public_url)
    .bind(&row.listen)
    .bind(&row.host)
    .bind(row.pid)
    .bind(&row.version)
    .bind(row.started_at)
    .bind(row.heartbeat_at)
    .execute(tx.conn())
    .await?;
    tx.commit().await
}

/// Moves `id`'s heartbeat to `now`; false when its row is gone (forgotten as stale).
pub async fn heartbeat(store: &Store, id: &str, now: i64) -> StoreResult<bool> {
    let mut tx = store.write_tx().await?;
    let done = sqlx::query("UPDATE instances SET heartbeat_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(tx.conn())
        .await?;
    tx.commit().await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes `id`'s row (a clean stop).
pub async fn remove(store: &Store, id: &str) -> StoreResult<()> {
    let mut tx = store.write_tx().await?;
    sqlx::query("DELETE FROM instances WHERE id = $1")
        .bind(id)
        .execute(tx.conn())
        .await?;
    tx.commit().await
}

/// Deletes the rows whose last heartbeat is older than `before` (servers that died long ago);
/// returns how many.
pub async fn forget_older_than(store: &Store, before: i64) -> StoreResult<u64> {
    let mut tx = store.write_tx().await?;
    let done = sqlx::query("DELETE FROM instances WHERE heartbeat_at < $1")
        .bind(before)
        .execute(tx.conn())
        .await?;
    tx.commit().await?;
    Ok(done.rows_affected())
}

/// Every recorded server, the most recent heartbeat first.
pub async fn list(store: &Store) -> StoreResult<Vec<InstanceRow>> {
    let mut conn = store.read().await?;
    Ok(sqlx::query_as(
        "SELECT id, public_url, listen, host, pid, version, started_at, heartbeat_at \
         FROM instances ORDER BY heartbeat_at DESC, started_at DESC",
    )
    .fetch_all(&mut *conn)
    .await?)
}
