//! API tokens and app passwords (authentik's Token). Only a SHA-256 digest of the key is stored.

use super::Conn;

use super::StoreResult;

/// authentik's intent for app passwords (usable with the password grant).
pub const INTENT_APP_PASSWORD: &str = "app_password";

/// A stored token.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Token {
    pub id: String,
    pub identifier: String,
    pub key_digest: String,
    pub intent: String,
    pub user_id: String,
    pub description: String,
    pub expires_at: Option<i64>,
    pub created_at: i64,
}

/// Records a token.
pub async fn insert(conn: &mut Conn, t: &Token) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO tokens (id, identifier, key_digest, intent, user_id, description, expires_at, \
         created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",
    )
    .bind(&t.id)
    .bind(&t.identifier)
    .bind(&t.key_digest)
    .bind(&t.intent)
    .bind(&t.user_id)
    .bind(&t.description)
    .bind(t.expires_at)
    .bind(t.created_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// The user's unexpired token of `intent` whose key has this digest.
pub async fn find_valid(
    conn: &mut Conn,
    user_id: &str,
    intent: &str,
    key_digest: &str,
    now: i64,
) -> StoreResult<Option<Token>> {
    Ok(sqlx::query_as(
        "SELECT * FROM tokens WHERE user_id = $1 AND intent = $2 AND key_digest = $3 \
         AND (expires_at IS NULL OR expires_at > $4)",
    )
    .bind(user_id)
    .bind(intent)
    .bind(key_digest)
    .bind(now)
    .fetch_optional(conn)
    .await?)
}

/// The unexpired token of `intent` whose key has this digest, whoever's it is (an API token
/// presented to `/api/v3/` names its user; `key_digest` is unique, so this is one index probe).
pub async fn find_by_digest(
    conn: &mut Conn,
    intent: &str,
    key_digest: &str,
    now: i64,
) -> StoreResult<Option<Token>> {
    Ok(sqlx::query_as(
        "SELECT * FROM tokens WHERE key_digest = $1 AND intent = $2 \
         AND (expires_at IS NULL OR expires_at > $3)",
    )
    .bind(key_digest)
    .bind(intent)
    .bind(now)
    .fetch_optional(conn)
    .await?)
}

/// authentik's intent for API tokens (never accepted where an app password is asked for).
pub const INTENT_API: &str = "api";

/// Every token of a user, newest first (digests only: no key is stored).
pub async fn of_user(conn: &mut Conn, user_id: &str) -> StoreResult<Vec<Token>> {
    Ok(
        sqlx::query_as("SELECT * FROM tokens WHERE user_id = $1 ORDER BY created_at DESC, id")
            .bind(user_id)
            .fetch_all(conn)
            .await?,
    )
}

/// Deletes one token of a user; true when it existed.
pub async fn delete_of_user(conn: &mut Conn, user_id: &str, id: &str) -> StoreResult<bool> {
    let res = sqlx::query("DELETE FROM tokens WHERE id = $1 AND user_id = $2")
        .bind(id)
        .bind(user_id)
        .execute(conn)
        .await?;
    Ok(res.rows_affected() == 1)
}

/// Every token of every user, newest first (the console's snapshot; digests only).
pub async fn all(conn: &mut Conn) -> StoreResult<Vec<Token>> {
    Ok(
        sqlx::query_as("SELECT * FROM tokens ORDER BY created_at DESC, id")
            .fetch_all(conn)
            .await?,
    )
}
