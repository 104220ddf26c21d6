//! Failed sign-in counters by key (`pair:`, `ip:`, `user:`), each one atomic UPSERT, so counts
//! are exact under concurrency and shared by every process on the store.

use super::Conn;

use super::{Store, StoreResult};

/// One counter as read.
#[derive(Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct Counter {
    pub key: String,
    pub failures: i64,
    pub window_start: i64,
    pub locked_until: i64,
}

/// The live counters of `keys` at `now` (a counter whose window ended reads as absent).
pub async fn read(conn: &mut Conn, keys: &[String], now: i64) -> StoreResult<Vec<Counter>> {
    let mut out = Vec::with_capacity(keys.len());
    for key in keys {
        let row: Option<Counter> = sqlx::query_as(
            "SELECT key, failures, window_start, locked_until FROM login_failures \
             WHERE key = $1 AND expires_at > $2",
        )
        .bind(key)
        .bind(now)
        .fetch_optional(&mut *conn)
        .await?;
        out.extend(row);
    }
    Ok(out)
}

/// Counts one failure for `key` (a counter past its window starts again at one) and returns the
/// new count; the row lives until `now + window`.
pub async fn count(conn: &mut Conn, key: &str, now: i64, window: i64) -> StoreResult<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO login_failures (key, failures, window_start, locked_until, expires_at) \
         VALUES ($1, 1, $2, 0, $2 + $3) \
         ON CONFLICT (key) DO UPDATE SET \
           failures = CASE WHEN login_failures.expires_at <= $2 THEN 1 \
                      ELSE login_failures.failures + 1 END, \
           window_start = CASE WHEN login_failures.expires_at <= $2 THEN $2 \
                          ELSE login_failures.window_start END, \
           locked_until = CASE WHEN login_failures.expires_at <= $2 THEN 0 \
                          ELSE login_failures.locked_until END, \
           expires_at = $2 + $3 \
         RETURNING failures",
    )
    .bind(key)
    .bind(now)
    .bind(window)
    .fetch_one(conn)
    .await?)
}

/// Refuses sign-ins for `key` until `until` (the row lives at least that long).
pub async fn lock(conn: &mut Conn, key: &str, until: i64) -> StoreResult<()> {
    sqlx::query(
        "UPDATE login_failures SET \
         locked_until = CASE WHEN locked_until > $2 THEN locked_until ELSE $2 END, \
         expires_at = CASE WHEN expires_at > $2 THEN expires_at ELSE $2 END WHERE key = $1",
    )
    .bind(key)
    .bind(until)
    .execute(conn)
    .await?;
    Ok(())
}

/// Forgets `key` (a successful sign-in clears its (IP, username) counter).
pub async fn clear(store: &Store, key: &str) -> StoreResult<()> {
    let mut tx = store.write_tx().await?;
    sqlx::query("DELETE FROM login_failures WHERE key = $1")
        .bind(key)
        .execute(tx.conn())
        .await?;
    tx.commit().await
}
