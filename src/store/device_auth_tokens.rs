//! The Agent's pending interactive sign-ins (authentik's `DeviceAuthenticationToken`), found by
//! the digest of the identifier their URL carries, and claimed at most once.

use super::Conn;

use super::StoreResult;
use super::rows::{self, DomainRow, TableRow};
use crate::domain::DeviceAuthToken;

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    identifier_digest: String,
    device_id: String,
    connector_id: String,
    device_token_id: String,
    login_hint: Option<String>,
    created_at: i64,
    expires_at: i64,
    used_at: Option<i64>,
    issued_digest: Option<String>,
}

impl TableRow for Row {
    const COLUMNS: &'static str = "id, identifier_digest, device_id, connector_id, \
        device_token_id, login_hint, created_at, expires_at, used_at, issued_digest";
    const TABLE: &'static str = "device_auth_tokens";
}

impl DomainRow for Row {
    type Domain = DeviceAuthToken;
    fn into_domain(self) -> StoreResult<DeviceAuthToken> {
        Ok(DeviceAuthToken {
            id: self.id,
            identifier_digest: self.identifier_digest,
            device_id: self.device_id,
            connector_id: self.connector_id,
            device_token_id: self.device_token_id,
            login_hint: self.login_hint,
            created_at: self.created_at,
            expires_at: self.expires_at,
            used_at: self.used_at,
            issued_digest: self.issued_digest,
        })
    }
}

/// The sign-in whose identifier digests to `digest` (the service compares it again in
/// constant time).
pub async fn by_identifier_digest(
    conn: &mut Conn,
    digest: &str,
) -> StoreResult<Option<DeviceAuthToken>> {
    rows::select_one::<Row>(conn, "WHERE identifier_digest = $1", digest).await
}

/// The sign-in `id`.
pub async fn by_id(conn: &mut Conn, id: &str) -> StoreResult<Option<DeviceAuthToken>> {
    rows::select_one::<Row>(conn, "WHERE id = $1", id).await
}

/// Stores a new pending sign-in, dropping the expired ones.
pub async fn insert(conn: &mut Conn, t: &DeviceAuthToken) -> StoreResult<()> {
    sqlx::query("DELETE FROM device_auth_tokens WHERE expires_at <= $1")
        .bind(t.created_at)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO device_auth_tokens (id, identifier_digest, device_id, connector_id, \
         device_token_id, login_hint, created_at, expires_at, used_at, issued_digest) \
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,NULL,NULL)",
    )
    .bind(&t.id)
    .bind(&t.identifier_digest)
    .bind(&t.device_id)
    .bind(&t.connector_id)
    .bind(&t.device_token_id)
    .bind(&t.login_hint)
    .bind(t.created_at)
    .bind(t.expires_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Marks `id` used with the digest of the JWT issued, if it is unused and unexpired at `now`
/// (one conditional UPDATE: a sign-in is claimed at most once). False when it was not.
pub async fn claim(conn: &mut Conn, id: &str, issued_digest: &str, now: i64) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE device_auth_tokens SET used_at = $1, issued_digest = $2 \
         WHERE id = $3 AND used_at IS NULL AND expires_at > $4",
    )
    .bind(now)
    .bind(issued_digest)
    .bind(id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
