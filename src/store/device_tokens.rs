//! The Agent's device tokens: one per device connection, kept as the key's SHA-256 digest
//! only; a presented key is found by its digest (a unique, indexed column).

use super::Conn;

use super::StoreResult;
use super::rows::{self, DomainRow, TableRow};
use crate::domain::DeviceToken;

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    connection_id: String,
    key_digest: String,
    created_at: i64,
}

impl TableRow for Row {
    const COLUMNS: &'static str = "id, connection_id, key_digest, created_at";
    const TABLE: &'static str = "device_tokens";
}

impl DomainRow for Row {
    type Domain = DeviceToken;
    fn into_domain(self) -> StoreResult<DeviceToken> {
        Ok(DeviceToken {
            id: self.id,
            connection_id: self.connection_id,
            key_digest: self.key_digest,
            created_at: self.created_at,
        })
    }
}

/// The token whose key digest is `digest` (the service compares it again in constant time).
pub async fn by_key_digest(conn: &mut Conn, digest: &str) -> StoreResult<Option<DeviceToken>> {
    rows::select_one::<Row>(conn, "WHERE key_digest = $1", digest).await
}

/// The token `id`.
pub async fn by_id(conn: &mut Conn, id: &str) -> StoreResult<Option<DeviceToken>> {
    rows::select_one::<Row>(conn, "WHERE id = $1", id).await
}

/// The token of `connection_id`, if it has one.
pub async fn of_connection(
    conn: &mut Conn,
    connection_id: &str,
) -> StoreResult<Option<DeviceToken>> {
    rows::select_one::<Row>(conn, "WHERE connection_id = $1", connection_id).await
}

/// Makes `token` its connection's only token: the one it replaces stops working at once.
pub async fn replace(conn: &mut Conn, token: &DeviceToken) -> StoreResult<()> {
    sqlx::query("DELETE FROM device_tokens WHERE connection_id = $1")
        .bind(&token.connection_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO device_tokens (id, connection_id, key_digest, created_at) VALUES ($1,$2,$3,$4)",
    )
    .bind(&token.id)
    .bind(&token.connection_id)
    .bind(&token.key_digest)
    .bind(token.created_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
