//! authentik's reputation scores per (client IP, identifier), changed by one atomic UPSERT.

use sqlx::SqliteConnection;

use super::StoreResult;

/// Adds `delta` to the score of (ip, identifier); an expired row starts again from zero.
pub async fn add(
    conn: &mut SqliteConnection,
    ip: &str,
    identifier: &str,
    delta: i64,
    now: i64,
    expires_at: i64,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO reputation (ip, identifier, score, updated_at, expires_at) VALUES (?,?,?,?,?) \
         ON CONFLICT (ip, identifier) DO UPDATE SET \
           score = CASE WHEN reputation.expires_at <= excluded.updated_at THEN excluded.score \
                   ELSE reputation.score + excluded.score END, \
           updated_at = excluded.updated_at, expires_at = excluded.expires_at",
    )
    .bind(ip)
    .bind(identifier)
    .bind(delta)
    .bind(now)
    .bind(expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Sum of live scores for an IP.
pub async fn score_for_ip(conn: &mut SqliteConnection, ip: &str, now: i64) -> StoreResult<i64> {
    Ok(sqlx::query_scalar(
        "SELECT coalesce(sum(score), 0) FROM reputation WHERE ip = ? AND expires_at > ?",
    )
    .bind(ip)
    .bind(now)
    .fetch_one(conn)
    .await?)
}

/// Sum of live scores for an identifier (username).
pub async fn score_for_identifier(
    conn: &mut SqliteConnection,
    identifier: &str,
    now: i64,
) -> StoreResult<i64> {
    Ok(sqlx::query_scalar(
        "SELECT coalesce(sum(score), 0) FROM reputation WHERE identifier = ? AND expires_at > ?",
    )
    .bind(identifier)
    .bind(now)
    .fetch_one(conn)
    .await?)
}
