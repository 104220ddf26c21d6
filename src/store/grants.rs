//! Authorization codes, access tokens and refresh tokens, stored by digest. Single-use things are
//! consumed with one conditional UPDATE that must touch exactly one row, so concurrent
//! redemptions cannot both succeed.

use super::Conn;

use super::StoreResult;
use super::rows;

/// A stored authorization code (the code itself is only ever kept as a digest).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AuthorizationCode {
    pub id: String,
    pub code_digest: String,
    pub provider_id: String,
    pub user_id: String,
    pub session_id: Option<String>,
    pub redirect_uri: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub auth_time: i64,
    pub expires_at: i64,
    pub consumed_at: Option<i64>,
    pub created_at: i64,
}

/// A stored access token record (the JWT itself is only kept as a digest).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AccessToken {
    pub id: String,
    pub token_digest: String,
    pub family_id: String,
    pub provider_id: String,
    pub user_id: String,
    pub session_id: Option<String>,
    pub scope: String,
    pub claims: String,
    pub auth_time: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    pub created_at: i64,
}

/// A stored refresh token record.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RefreshToken {
    pub id: String,
    pub token_digest: String,
    pub family_id: String,
    pub provider_id: String,
    pub user_id: String,
    pub session_id: Option<String>,
    pub scope: String,
    pub nonce: Option<String>,
    pub claims: String,
    pub auth_time: i64,
    pub expires_at: i64,
    pub consumed_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub created_at: i64,
}

/// Records a new authorization code.
pub async fn insert_code(conn: &mut Conn, c: &AuthorizationCode) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO authorization_codes (id, code_digest, provider_id, user_id, session_id, \
         redirect_uri, scope, nonce, code_challenge, code_challenge_method, auth_time, expires_at, \
         consumed_at, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)",
    )
    .bind(&c.id)
    .bind(&c.code_digest)
    .bind(&c.provider_id)
    .bind(&c.user_id)
    .bind(&c.session_id)
    .bind(&c.redirect_uri)
    .bind(&c.scope)
    .bind(&c.nonce)
    .bind(&c.code_challenge)
    .bind(&c.code_challenge_method)
    .bind(c.auth_time)
    .bind(c.expires_at)
    .bind(c.consumed_at)
    .bind(c.created_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Looks a code up by digest (consumed or not: a replay must be recognised).
pub async fn find_code(conn: &mut Conn, digest: &str) -> StoreResult<Option<AuthorizationCode>> {
    rows::fetch_by(
        conn,
        "SELECT * FROM authorization_codes WHERE code_digest = $1",
        digest,
    )
    .await
}

/// Marks a code used. `false` when someone else consumed it first.
pub async fn consume_code(conn: &mut Conn, id: &str, now: i64) -> StoreResult<bool> {
    let sql =
        "UPDATE authorization_codes SET consumed_at = $1 WHERE id = $2 AND consumed_at IS NULL";
    rows::update_once(conn, sql, now, id).await
}

/// Records an access token.
pub async fn insert_access_token(conn: &mut Conn, t: &AccessToken) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO access_tokens (id, token_digest, family_id, provider_id, user_id, session_id, \
         scope, claims, auth_time, expires_at, revoked_at, created_at) \
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)",
    )
    .bind(&t.id)
    .bind(&t.token_digest)
    .bind(&t.family_id)
    .bind(&t.provider_id)
    .bind(&t.user_id)
    .bind(&t.session_id)
    .bind(&t.scope)
    .bind(&t.claims)
    .bind(t.auth_time)
    .bind(t.expires_at)
    .bind(t.revoked_at)
    .bind(t.created_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Looks an access token up by digest.
pub async fn find_access_token(conn: &mut Conn, digest: &str) -> StoreResult<Option<AccessToken>> {
    rows::fetch_by(
        conn,
        "SELECT * FROM access_tokens WHERE token_digest = $1",
        digest,
    )
    .await
}

/// Records a refresh token.
pub async fn insert_refresh_token(conn: &mut Conn, t: &RefreshToken) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO refresh_tokens (id, token_digest, family_id, provider_id, user_id, session_id, \
         scope, nonce, claims, auth_time, expires_at, consumed_at, revoked_at, created_at) \
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)",
    )
    .bind(&t.id)
    .bind(&t.token_digest)
    .bind(&t.family_id)
    .bind(&t.provider_id)
    .bind(&t.user_id)
    .bind(&t.session_id)
    .bind(&t.scope)
    .bind(&t.nonce)
    .bind(&t.claims)
    .bind(t.auth_time)
    .bind(t.expires_at)
    .bind(t.consumed_at)
    .bind(t.revoked_at)
    .bind(t.created_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Looks a refresh token up by digest (rotated ones too: reuse must be recognised).
pub async fn find_refresh_token(
    conn: &mut Conn,
    digest: &str,
) -> StoreResult<Option<RefreshToken>> {
    rows::fetch_by(
        conn,
        "SELECT * FROM refresh_tokens WHERE token_digest = $1",
        digest,
    )
    .await
}

/// Marks a refresh token rotated. `false` when it was already used or revoked.
pub async fn consume_refresh_token(conn: &mut Conn, id: &str, now: i64) -> StoreResult<bool> {
    let sql = "UPDATE refresh_tokens SET consumed_at = $1 \
         WHERE id = $2 AND consumed_at IS NULL AND revoked_at IS NULL";
    rows::update_once(conn, sql, now, id).await
}

/// Revokes every access and refresh token of a grant family (code replay, refresh reuse).
pub async fn revoke_family(conn: &mut Conn, family_id: &str, now: i64) -> StoreResult<()> {
    sqlx::query(
        "UPDATE access_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(family_id)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(family_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Revokes one access token. Returns whether a row changed.
pub async fn revoke_access_token(conn: &mut Conn, id: &str, now: i64) -> StoreResult<bool> {
    let sql = "UPDATE access_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL";
    rows::update_once(conn, sql, now, id).await
}

/// The family a code produced (its id is the family id).
pub fn family_of_code(code: &AuthorizationCode) -> &str {
    &code.id
}

/// Revokes every unrevoked access and refresh token issued in a session (`sid` is the digest
/// tokens record). Returns how many tokens changed.
pub async fn revoke_session(conn: &mut Conn, sid: &str, now: i64) -> StoreResult<u64> {
    let mut n = 0;
    for table in ["access_tokens", "refresh_tokens"] {
        let res = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE {table} SET revoked_at = $1 WHERE session_id = $2 AND revoked_at IS NULL"
        )))
        .bind(now)
        .bind(sid)
        .execute(&mut *conn)
        .await?;
        n += res.rows_affected();
    }
    Ok(n)
}

/// Every (provider, user) that tokens were issued to in a session (`sid` digest), for
/// back-channel logout.
pub async fn parties_of_session(conn: &mut Conn, sid: &str) -> StoreResult<Vec<(String, String)>> {
    Ok(sqlx::query_as(
        "SELECT provider_id, user_id FROM access_tokens WHERE session_id = $1 \
         UNION SELECT provider_id, user_id FROM refresh_tokens WHERE session_id = $2",
    )
    .bind(sid)
    .bind(sid)
    .fetch_all(conn)
    .await?)
}
