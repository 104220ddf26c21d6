//! The recovery codes of static authenticator devices (authentik's StaticToken), stored as
//! SHA-256 digests only. Using a code deletes its row in one conditional DELETE, so two
//! requests presenting the same code cannot both succeed.

use super::Conn;

use super::StoreResult;

/// Records the code digests of a device (its row in `authenticator_devices` exists already).
pub async fn insert_all(conn: &mut Conn, device_id: &str, digests: &[String]) -> StoreResult<()> {
    for digest in digests {
        sqlx::query("INSERT INTO static_tokens (id, device_id, token_digest) VALUES ($1,$2,$3)")
            .bind(crate::domain::new_id())
            .bind(device_id)
            .bind(digest)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Uses the code with this digest on one of the user's confirmed static devices: deletes it
/// and returns the device id, or `None` when no such unused code exists (or another request
/// used it first).
pub async fn consume(conn: &mut Conn, user_id: &str, digest: &str) -> StoreResult<Option<String>> {
    Ok(sqlx::query_scalar(
        "DELETE FROM static_tokens WHERE token_digest = $1 AND device_id IN \
         (SELECT id FROM authenticator_devices WHERE user_id = $2 AND kind = 'static' \
          AND confirmed = TRUE) RETURNING device_id",
    )
    .bind(digest)
    .bind(user_id)
    .fetch_optional(conn)
    .await?)
}

/// How many unused codes each static device has left: `(device id, count)`.
pub async fn remaining(conn: &mut Conn) -> StoreResult<Vec<(String, i64)>> {
    Ok(sqlx::query_as(
        "SELECT d.id, count(t.id) FROM authenticator_devices d \
         LEFT JOIN static_tokens t ON t.device_id = d.id \
         WHERE d.kind = 'static' GROUP BY d.id",
    )
    .fetch_all(conn)
    .await?)
}

/// True when the user has an unused code with this digest (a dry run looks without using it).
pub async fn exists(conn: &mut Conn, user_id: &str, digest: &str) -> StoreResult<bool> {
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM static_tokens WHERE token_digest = $1 AND device_id IN \
         (SELECT id FROM authenticator_devices WHERE user_id = $2 AND kind = 'static' \
          AND confirmed = TRUE)",
    )
    .bind(digest)
    .bind(user_id)
    .fetch_optional(conn)
    .await?;
    Ok(found.is_some())
}
