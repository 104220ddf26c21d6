//! Server-side sessions: the cookie holds a random id, this table only its SHA-256 digest.
//! The connection-level queries are below; [`find_live`], [`create`], [`update_data`] and
//! [`replace`] are what the browser-session layer ([`crate::flows::session`]) calls, each one
//! read or one short write transaction.

use super::Conn;

use super::{Store, StoreError, StoreResult};

/// A stored session (the raw id is never stored).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct SessionRow {
    pub id: String,
    pub key_digest: String,
    pub user_id: Option<String>,
    pub data: String,
    pub client_ip: String,
    pub user_agent: String,
    pub created_at: i64,
    pub last_seen: i64,
    pub idle_expires_at: i64,
    pub expires_at: i64,
}

const COLS: &str = "id, key_digest, user_id, data, client_ip, user_agent, created_at, last_seen, \
    idle_expires_at, expires_at";

/// Looks a session up by the digest of its cookie value, only while it is live at `now` and its
/// user (if any) is active: expiry and deactivation apply on the very next request.
pub async fn get_live(
    conn: &mut Conn,
    key_digest: &str,
    now: i64,
) -> StoreResult<Option<SessionRow>> {
    let sql = format!(
        "SELECT {COLS} FROM sessions s WHERE key_digest = $1 AND idle_expires_at > $2 \
         AND expires_at > $3 AND (user_id IS NULL OR EXISTS \
         (SELECT 1 FROM users u WHERE u.id = s.user_id AND u.is_active = TRUE))"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(key_digest)
        .bind(now)
        .bind(now)
        .fetch_optional(conn)
        .await?)
}

/// Inserts a session.
pub async fn insert(conn: &mut Conn, s: &SessionRow) -> StoreResult<()> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO sessions ({COLS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)"
    )))
    .bind(&s.id)
    .bind(&s.key_digest)
    .bind(&s.user_id)
    .bind(&s.data)
    .bind(&s.client_ip)
    .bind(&s.user_agent)
    .bind(s.created_at)
    .bind(s.last_seen)
    .bind(s.idle_expires_at)
    .bind(s.expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Saves a session's data and sliding idle expiry (never past its absolute expiry). A session
/// that is gone (ended, revoked or expired meanwhile) is [`StoreError::NotFound`]: the write
/// would be lost, and the caller must say so rather than answer as if it were kept.
pub async fn save(
    conn: &mut Conn,
    id: &str,
    data: &str,
    now: i64,
    idle_expires_at: i64,
) -> StoreResult<()> {
    let res = sqlx::query(
        "UPDATE sessions SET data = $1, last_seen = $2, \
         idle_expires_at = CASE WHEN $3 < expires_at THEN $3 ELSE expires_at END \
         WHERE id = $4",
    )
    .bind(data)
    .bind(now)
    .bind(idle_expires_at)
    .bind(id)
    .execute(conn)
    .await?;
    if res.rows_affected() != 1 {
        return Err(StoreError::NotFound {
            what: "the session".into(),
        });
    }
    Ok(())
}

/// Deletes one session.
pub async fn delete(conn: &mut Conn, id: &str) -> StoreResult<()> {
    super::rows::delete_by_id(conn, "sessions", id).await?;
    Ok(())
}

/// Deletes every session of a user except `keep` (terminate_other_sessions).
pub async fn delete_other_of_user(conn: &mut Conn, user_id: &str, keep: &str) -> StoreResult<u64> {
    let res = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id <> $2")
        .bind(user_id)
        .bind(keep)
        .execute(conn)
        .await?;
    Ok(res.rows_affected())
}

/// Every session of a user (console, tests).
pub async fn of_user(conn: &mut Conn, user_id: &str) -> StoreResult<Vec<SessionRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLS} FROM sessions WHERE user_id = $1 ORDER BY created_at"
    )))
    .bind(user_id)
    .fetch_all(conn)
    .await?)
}

/// Every anonymous session (no user yet), oldest first.
pub async fn all_anonymous(conn: &mut Conn) -> StoreResult<Vec<SessionRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLS} FROM sessions WHERE user_id IS NULL ORDER BY created_at"
    )))
    .fetch_all(conn)
    .await?)
}

/// Every live signed-in session, most recently seen first (the console's users detail).
pub async fn live_signed_in(conn: &mut Conn, now: i64) -> StoreResult<Vec<SessionRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLS} FROM sessions WHERE user_id IS NOT NULL AND idle_expires_at > $1 \
         AND expires_at > $2 ORDER BY last_seen DESC"
    )))
    .bind(now)
    .bind(now)
    .fetch_all(conn)
    .await?)
}

/// The live session whose cookie digest is `key_digest` (see [`get_live`]), on a read
/// connection.
pub async fn find_live(
    store: &Store,
    key_digest: &str,
    now: i64,
) -> StoreResult<Option<SessionRow>> {
    let mut conn = store.read().await?;
    get_live(&mut conn, key_digest, now).await
}

/// How many anonymous sessions (no user yet) the store keeps; past either cap the oldest go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnonymousCaps {
    /// Per client IP.
    pub per_ip: i64,
    /// In all.
    pub total: i64,
}

/// Stores a new session in its own write transaction; an anonymous one first makes room under
/// `caps` (oldest anonymous sessions of that IP, then of all, are deleted).
pub async fn create(store: &Store, row: &SessionRow, caps: AnonymousCaps) -> StoreResult<()> {
    let mut tx = store.write_tx().await?;
    if row.user_id.is_none() {
        make_room(tx.conn(), &row.client_ip, caps).await?;
    }
    insert(tx.conn(), row).await?;
    tx.commit().await
}

/// Deletes the oldest anonymous sessions so one more fits under `caps`.
async fn make_room(conn: &mut Conn, ip: &str, caps: AnonymousCaps) -> StoreResult<()> {
    sqlx::query(
        "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions \
         WHERE user_id IS NULL AND client_ip = $1 ORDER BY created_at DESC LIMIT 9223372036854775807 OFFSET $2)",
    )
    .bind(ip)
    .bind((caps.per_ip - 1).max(0))
    .execute(&mut *conn)
    .await?;
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM sessions WHERE user_id IS NULL")
        .fetch_one(&mut *conn)
        .await?;
    if total >= caps.total {
        sqlx::query(
            "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE user_id IS NULL \
             ORDER BY created_at LIMIT $1)",
        )
        .bind(total - caps.total + 1)
        .execute(conn)
        .await?;
    }
    Ok(())
}

/// Saves a session's data and idle expiry in its own write transaction ([`save`]: a session
/// that is gone is an error).
pub async fn update_data(
    store: &Store,
    id: &str,
    data: &str,
    now: i64,
    idle_expires_at: i64,
) -> StoreResult<()> {
    let mut tx = store.write_tx().await?;
    save(tx.conn(), id, data, now, idle_expires_at).await?;
    tx.commit().await
}

/// Replaces session `old_id` by `new` in one write transaction (login and logout issue a new
/// id, so a session id is never reused across a change of user); with `end_others`, every other
/// session of the new session's user ends too (the login stage's terminate_other_sessions).
pub async fn replace(
    store: &Store,
    old_id: &str,
    new: &SessionRow,
    end_others: bool,
) -> StoreResult<()> {
    let mut tx = store.write_tx().await?;
    delete(tx.conn(), old_id).await?;
    insert(tx.conn(), new).await?;
    if end_others && let Some(user_id) = &new.user_id {
        delete_other_of_user(tx.conn(), user_id, &new.id).await?;
    }
    tx.commit().await
}

/// Every live session that holds a flow plan (a flow being executed right now), most recently
/// seen first: the console's live executions. Sessions without plans are not returned.
pub async fn live_with_plans(store: &Store, now: i64) -> StoreResult<Vec<SessionRow>> {
    let mut conn = store.read().await?;
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLS} FROM sessions WHERE idle_expires_at > $1 AND expires_at > $2 \
         AND data NOT LIKE '%\"plans\":{{}}%' ORDER BY last_seen DESC"
    )))
    .bind(now)
    .bind(now)
    .fetch_all(&mut *conn)
    .await?)
}

/// Sessions that ended (idle or absolute expiry before `now`) while holding a flow plan: the
/// executions abandoned there, at most `limit`, oldest first.
pub async fn expired_with_plans(
    store: &Store,
    now: i64,
    limit: i64,
) -> StoreResult<Vec<SessionRow>> {
    let mut conn = store.read().await?;
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLS} FROM sessions WHERE (idle_expires_at <= $1 OR expires_at <= $2) \
         AND data NOT LIKE '%\"plans\":{{}}%' ORDER BY last_seen LIMIT $3"
    )))
    .bind(now)
    .bind(now)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?)
}

/// Replaces a session's data with `new` only while it still is `old` (nothing else touched it
/// meanwhile); true when this call made the change. Several instances sweeping one store claim
/// an abandoned plan this way, so exactly one of them reports it.
pub async fn swap_data(store: &Store, id: &str, old: &str, new: &str) -> StoreResult<bool> {
    let mut tx = store.write_tx().await?;
    let n = sqlx::query("UPDATE sessions SET data = $1 WHERE id = $2 AND data = $3")
        .bind(new)
        .bind(id)
        .bind(old)
        .execute(tx.conn())
        .await?
        .rows_affected();
    tx.commit().await?;
    Ok(n == 1)
}
