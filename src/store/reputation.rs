//! authentik's reputation scores per (client IP, identifier), changed by one atomic UPSERT.

use super::Conn;

use super::StoreResult;

/// authentik's bounds of a score (its `reputation_lower_limit` / `reputation_upper_limit`
/// defaults).
pub const LOWER_LIMIT: i64 = -5;
/// See [`LOWER_LIMIT`].
pub const UPPER_LIMIT: i64 = 5;

/// Adds `delta` to the score of (ip, identifier), kept within [`LOWER_LIMIT`]..=[`UPPER_LIMIT`];
/// an expired row starts again from zero.
pub async fn add(
    conn: &mut Conn,
    ip: &str,
    identifier: &str,
    delta: i64,
    now: i64,
    expires_at: i64,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO reputation (ip, identifier, score, updated_at, expires_at) \
         VALUES ($1, $2, CASE WHEN $3 < $6 THEN $6 WHEN $3 > $7 THEN $7 ELSE $3 END, $4, $5) \
         ON CONFLICT (ip, identifier) DO UPDATE SET \
           score = CASE \
             WHEN reputation.expires_at <= excluded.updated_at THEN excluded.score \
             WHEN reputation.score + $3 < $6 THEN $6 \
             WHEN reputation.score + $3 > $7 THEN $7 \
             ELSE reputation.score + $3 END, \
           updated_at = excluded.updated_at, expires_at = excluded.expires_at",
    )
    .bind(ip)
    .bind(identifier)
    .bind(delta)
    .bind(now)
    .bind(expires_at)
    .bind(LOWER_LIMIT)
    .bind(UPPER_LIMIT)
    .execute(conn)
    .await?;
    Ok(())
}

/// Sum of the live scores of every row whose IP is `ip` **or** whose identifier is
/// `identifier` (authentik's query: rotating addresses does not escape a username's score);
/// `None` leaves that side out.
pub async fn score_for(
    conn: &mut Conn,
    ip: Option<&str>,
    identifier: Option<&str>,
    now: i64,
) -> StoreResult<i64> {
    if ip.is_none() && identifier.is_none() {
        return Ok(0);
    }
    Ok(sqlx::query_scalar(
        "SELECT CAST(coalesce(sum(score), 0) AS BIGINT) FROM reputation WHERE expires_at > $3 \
         AND (($1 IS NOT NULL AND ip = $1) OR ($2 IS NOT NULL AND identifier = $2))",
    )
    .bind(ip)
    .bind(identifier)
    .bind(now)
    .fetch_one(conn)
    .await?)
}

/// Sum of live scores for an IP.
pub async fn score_for_ip(conn: &mut Conn, ip: &str, now: i64) -> StoreResult<i64> {
    Ok(sqlx::query_scalar(
        "SELECT CAST(coalesce(sum(score), 0) AS BIGINT) FROM reputation WHERE ip = $1 AND expires_at > $2",
    )
    .bind(ip)
    .bind(now)
    .fetch_one(conn)
    .await?)
}

/// Sum of live scores for an identifier (username).
pub async fn score_for_identifier(conn: &mut Conn, identifier: &str, now: i64) -> StoreResult<i64> {
    Ok(sqlx::query_scalar(
        "SELECT CAST(coalesce(sum(score), 0) AS BIGINT) FROM reputation WHERE identifier = $1 AND expires_at > $2",
    )
    .bind(identifier)
    .bind(now)
    .fetch_one(conn)
    .await?)
}
