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
