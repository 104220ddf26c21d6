//! Server-side sessions: the cookie holds a random id, this table only its SHA-256 digest.

use sqlx::SqliteConnection;

use super::StoreResult;

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
    conn: &mut SqliteConnection,
    key_digest: &str,
    now: i64,
) -> StoreResult<Option<SessionRow>> {
    let sql = format!(
        "SELECT {COLS} FROM sessions s WHERE key_digest = ? AND idle_expires_at > ? \
         AND expires_at > ? AND (user_id IS NULL OR EXISTS \
         (SELECT 1 FROM users u WHERE u.id = s.user_id AND u.is_active = 1))"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(key_digest)
        .bind(now)
        .bind(now)
        .fetch_optional(conn)
        .await?)
}

/// Inserts a session.
pub async fn insert(conn: &mut SqliteConnection, s: &SessionRow) -> StoreResult<()> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO sessions ({COLS}) VALUES (?,?,?,?,?,?,?,?,?,?)"
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

/// Saves a session's data and sliding idle expiry (never past its absolute expiry).
pub async fn save(
    conn: &mut SqliteConnection,
    id: &str,
    data: &str,
    now: i64,
    idle_expires_at: i64,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE sessions SET data = ?, last_seen = ?, idle_expires_at = min(?, expires_at) \
         WHERE id = ?",
    )
    .bind(data)
    .bind(now)
    .bind(idle_expires_at)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes one session.
pub async fn delete(conn: &mut SqliteConnection, id: &str) -> StoreResult<()> {
    sqlx::query("DELETE FROM sessions WHERE id = ?")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Deletes every session of a user except `keep` (terminate_other_sessions).
pub async fn delete_other_of_user(
    conn: &mut SqliteConnection,
    user_id: &str,
    keep: &str,
) -> StoreResult<u64> {
    let res = sqlx::query("DELETE FROM sessions WHERE user_id = ? AND id <> ?")
        .bind(user_id)
        .bind(keep)
        .execute(conn)
        .await?;
    Ok(res.rows_affected())
}

/// Every session of a user (console, tests).
pub async fn of_user(conn: &mut SqliteConnection, user_id: &str) -> StoreResult<Vec<SessionRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLS} FROM sessions WHERE user_id = ? ORDER BY created_at"
    )))
    .bind(user_id)
    .fetch_all(conn)
    .await?)
}

/// Every live signed-in session, most recently seen first (the console's users detail).
pub async fn live_signed_in(conn: &mut SqliteConnection, now: i64) -> StoreResult<Vec<SessionRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLS} FROM sessions WHERE user_id IS NOT NULL AND idle_expires_at > ? \
         AND expires_at > ? ORDER BY last_seen DESC"
    )))
    .bind(now)
    .bind(now)
    .fetch_all(conn)
    .await?)
}
