//! Remembered consents (authentik's UserConsent), unique per (user, application, permissions).

use super::Conn;

use super::StoreResult;

/// True when the user has a consent for the application and permissions that is live at `now`.
pub async fn has_live(
    conn: &mut Conn,
    user_id: &str,
    application_id: &str,
    permissions: &str,
    now: i64,
) -> StoreResult<bool> {
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM consents WHERE user_id = $1 AND application_id = $2 AND permissions = $3 \
         AND (expires_at IS NULL OR expires_at > $4)",
    )
    .bind(user_id)
    .bind(application_id)
    .bind(permissions)
    .bind(now)
    .fetch_optional(conn)
    .await?;
    Ok(found.is_some())
}

/// Records (or renews) a consent; `expires_at` None = permanent.
pub async fn upsert(
    conn: &mut Conn,
    id: &str,
    user_id: &str,
    application_id: &str,
    permissions: &str,
    expires_at: Option<i64>,
    now: i64,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO consents (id, user_id, application_id, permissions, expires_at, created_at) \
         VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT (user_id, application_id, permissions) \
         DO UPDATE SET expires_at = excluded.expires_at, created_at = excluded.created_at",
    )
    .bind(id)
    .bind(user_id)
    .bind(application_id)
    .bind(permissions)
    .bind(expires_at)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// A stored consent.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ConsentRow {
    pub id: String,
    pub user_id: String,
    pub application_id: String,
    pub permissions: String,
    pub expires_at: Option<i64>,
    pub created_at: i64,
}

/// Every consent of a user, expired ones included, newest first.
pub async fn of_user(conn: &mut Conn, user_id: &str) -> StoreResult<Vec<ConsentRow>> {
    Ok(sqlx::query_as(
        "SELECT id, user_id, application_id, permissions, expires_at, created_at FROM consents \
         WHERE user_id = $1 ORDER BY created_at DESC, id",
    )
    .bind(user_id)
    .fetch_all(conn)
    .await?)
}

/// Deletes one consent of a user; true when it existed.
pub async fn delete_of_user(conn: &mut Conn, user_id: &str, id: &str) -> StoreResult<bool> {
    let res = sqlx::query("DELETE FROM consents WHERE id = $1 AND user_id = $2")
        .bind(id)
        .bind(user_id)
        .execute(conn)
        .await?;
    Ok(res.rows_affected() == 1)
}

/// Every consent of every user, newest first (the console's snapshot).
pub async fn all(conn: &mut Conn) -> StoreResult<Vec<ConsentRow>> {
    Ok(sqlx::query_as(
        "SELECT id, user_id, application_id, permissions, expires_at, created_at FROM consents \
         ORDER BY created_at DESC, id",
    )
    .fetch_all(conn)
    .await?)
}
