//! WebAuthn credentials: rows of `authenticator_devices` with kind `webauthn`, found by their
//! unique credential id, whose signature counter only moves forward.

use super::{Conn, StoreResult};

/// The device kind WebAuthn credentials are stored under (authentik's device class).
pub const KIND: &str = "webauthn";

/// A registered WebAuthn credential.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct WebauthnDeviceRow {
    pub id: String,
    pub user_id: String,
    pub name: String,
    /// The credential id, base64url without padding.
    pub credential_id: String,
    /// The verified credential as webauthn-rs-core serialises it (public key, counter, flags).
    pub credential: String,
    pub sign_count: i64,
    pub created_at: i64,
}

/// Inserts a confirmed credential; a credential id registered before fails the unique index.
pub async fn insert(conn: &mut Conn, d: &WebauthnDeviceRow) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO authenticator_devices (id, user_id, kind, name, secret, confirmed, \
         last_used_step, created_at, credential_id, sign_count) \
         VALUES ($1, $2, $3, $4, $5, TRUE, NULL, $6, $7, $8)",
    )
    .bind(&d.id)
    .bind(&d.user_id)
    .bind(KIND)
    .bind(&d.name)
    .bind(&d.credential)
    .bind(d.created_at)
    .bind(&d.credential_id)
    .bind(d.sign_count)
    .execute(conn)
    .await?;
    Ok(())
}

/// A user's confirmed credentials, oldest first.
pub async fn of_user(conn: &mut Conn, user_id: &str) -> StoreResult<Vec<WebauthnDeviceRow>> {
    Ok(sqlx::query_as(
        "SELECT id, user_id, name, credential_id, secret AS credential, sign_count, created_at \
         FROM authenticator_devices \
         WHERE user_id = $1 AND kind = $2 AND confirmed = TRUE ORDER BY created_at, id",
    )
    .bind(user_id)
    .bind(KIND)
    .fetch_all(conn)
    .await?)
}

/// The confirmed credential with this id, whoever owns it.
pub async fn by_credential_id(
    conn: &mut Conn,
    credential_id: &str,
) -> StoreResult<Option<WebauthnDeviceRow>> {
    Ok(sqlx::query_as(
        "SELECT id, user_id, name, credential_id, secret AS credential, sign_count, created_at \
         FROM authenticator_devices \
         WHERE credential_id = $1 AND kind = $2 AND confirmed = TRUE",
    )
    .bind(credential_id)
    .bind(KIND)
    .fetch_optional(conn)
    .await?)
}

/// True when a credential with this id is registered (to anyone).
pub async fn credential_exists(conn: &mut Conn, credential_id: &str) -> StoreResult<bool> {
    let n: i64 =
        sqlx::query_scalar("SELECT count(*) FROM authenticator_devices WHERE credential_id = $1")
            .bind(credential_id)
            .fetch_one(conn)
            .await?;
    Ok(n > 0)
}

/// Records a use: the new counter and credential, only if the counter moved past the stored
/// one (or both are zero: an authenticator without a counter). One conditional UPDATE, so two
/// uses racing with the same counter cannot both win. True when this call won.
pub async fn record_use(
    conn: &mut Conn,
    id: &str,
    sign_count: i64,
    credential: &str,
) -> StoreResult<bool> {
    let res = sqlx::query(
        "UPDATE authenticator_devices SET sign_count = $1, secret = $2 \
         WHERE id = $3 AND (sign_count < $4 OR (sign_count = 0 AND $5 = 0))",
    )
    .bind(sign_count)
    .bind(credential)
    .bind(id)
    .bind(sign_count)
    .bind(sign_count)
    .execute(conn)
    .await?;
    Ok(res.rows_affected() == 1)
}
