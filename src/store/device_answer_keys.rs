//! The keys that verify a device's answers to the endpoint stage's challenge (see
//! `crypto::endpoint_challenge::answer_key`): one per device token, deleted with it.

use super::Conn;

use super::StoreResult;

/// Stores the answer key of the device token `token_id`.
pub async fn insert(conn: &mut Conn, token_id: &str, hmac_key: &str) -> StoreResult<()> {
    sqlx::query("INSERT INTO device_answer_keys (token_id, hmac_key) VALUES ($1, $2)")
        .bind(token_id)
        .bind(hmac_key)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The answer key of the device token of the connection between `device_id` and
/// `connector_id`, if that connection has a token with one.
pub async fn of_device_at(
    conn: &mut Conn,
    device_id: &str,
    connector_id: &str,
) -> StoreResult<Option<String>> {
    let key: Option<(String,)> = sqlx::query_as(
        "SELECT k.hmac_key FROM device_answer_keys k \
         JOIN device_tokens t ON t.id = k.token_id \
         JOIN device_connections c ON c.id = t.connection_id \
         WHERE c.device_id = $1 AND c.connector_id = $2",
    )
    .bind(device_id)
    .bind(connector_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(key.map(|(k,)| k))
}
