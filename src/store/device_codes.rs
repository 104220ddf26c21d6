//! RFC 8628 device codes, stored by digest. Every state change (poll, approve, deny, consume) is
//! one conditional UPDATE, so concurrent requests cannot both move a code out of a state.

use super::Conn;

use super::StoreResult;
use super::rows;

/// Waiting for the user at the verification page.
pub const PENDING: &str = "pending";
/// The user approved; the next poll gets tokens.
pub const APPROVED: &str = "approved";
/// The user refused; polls get `access_denied`.
pub const DENIED: &str = "denied";

/// A stored device authorization (the device code itself is only kept as a digest).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DeviceCode {
    pub id: String,
    pub device_code_digest: String,
    /// Canonical form: 8 characters, no separator.
    pub user_code: String,
    pub provider_id: String,
    pub user_id: Option<String>,
    pub session_id: Option<String>,
    /// Fixed at the device authorization request.
    pub scope: String,
    pub status: String,
    /// Seconds the client must wait between polls (raised by `slow_down`).
    pub poll_interval: i64,
    pub last_polled_at: Option<i64>,
    /// The grant family of the tokens this code produces (revoked together on replay).
    pub family_id: Option<String>,
    pub auth_time: Option<i64>,
    pub expires_at: i64,
    pub consumed_at: Option<i64>,
    pub created_at: i64,
}

/// Records a new device authorization.
pub async fn insert(conn: &mut Conn, d: &DeviceCode) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO device_codes (id, device_code_digest, user_code, provider_id, user_id, \
         session_id, scope, status, poll_interval, last_polled_at, family_id, auth_time, \
         expires_at, consumed_at, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15)",
    )
    .bind(&d.id)
    .bind(&d.device_code_digest)
    .bind(&d.user_code)
    .bind(&d.provider_id)
    .bind(&d.user_id)
    .bind(&d.session_id)
    .bind(&d.scope)
    .bind(&d.status)
    .bind(d.poll_interval)
    .bind(d.last_polled_at)
    .bind(&d.family_id)
    .bind(d.auth_time)
    .bind(d.expires_at)
    .bind(d.consumed_at)
    .bind(d.created_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Looks a code up by device code digest (consumed or not: a replay must be recognised).
pub async fn find_by_digest(conn: &mut Conn, digest: &str) -> StoreResult<Option<DeviceCode>> {
    rows::fetch_by(
        conn,
        "SELECT * FROM device_codes WHERE device_code_digest = $1",
        digest,
    )
    .await
}

/// Looks a code up by its canonical user code.
pub async fn find_by_user_code(
    conn: &mut Conn,
    user_code: &str,
) -> StoreResult<Option<DeviceCode>> {
    rows::fetch_by(
        conn,
        "SELECT * FROM device_codes WHERE user_code = $1",
        user_code,
    )
    .await
}

/// Records a poll of a pending code at `now` and tells whether it came too fast (sooner than
/// the code's interval after the previous poll), raising the interval by `step` when it did.
/// The previous poll is read in the caller's write transaction, so of two polls racing on any
/// instances (writers are serialized) the second sees the first.
pub async fn record_poll(conn: &mut Conn, id: &str, now: i64, step: i64) -> StoreResult<bool> {
    let row: Option<(Option<i64>, i64)> =
        sqlx::query_as("SELECT last_polled_at, poll_interval FROM device_codes WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
    let Some((last, interval)) = row else {
        return Ok(false);
    };
    let too_fast = last.is_some_and(|last| now - last < interval);
    let interval = if too_fast { interval + step } else { interval };
    sqlx::query("UPDATE device_codes SET last_polled_at = $1, poll_interval = $2 WHERE id = $3")
        .bind(now)
        .bind(interval)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(too_fast)
}

/// Pending → approved for a user and session. `false` when the code is unknown, expired or no
/// longer pending.
pub async fn approve(
    conn: &mut Conn,
    user_code: &str,
    user_id: &str,
    session_id: &str,
    now: i64,
) -> StoreResult<bool> {
    let res = sqlx::query(
        "UPDATE device_codes SET status = 'approved', user_id = $1, session_id = $2, auth_time = $3 \
         WHERE user_code = $4 AND status = 'pending' AND expires_at > $5 AND consumed_at IS NULL",
    )
    .bind(user_id)
    .bind(session_id)
    .bind(now)
    .bind(user_code)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(res.rows_affected() == 1)
}

/// Pending → denied. `false` when the code is unknown, expired or no longer pending.
pub async fn deny(conn: &mut Conn, user_code: &str, now: i64) -> StoreResult<bool> {
    let res = sqlx::query(
        "UPDATE device_codes SET status = 'denied' \
         WHERE user_code = $1 AND status = 'pending' AND expires_at > $2 AND consumed_at IS NULL",
    )
    .bind(user_code)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(res.rows_affected() == 1)
}

/// Marks an approved code redeemed. `false` when another poll redeemed it first.
pub async fn consume(conn: &mut Conn, id: &str, now: i64) -> StoreResult<bool> {
    let sql = "UPDATE device_codes SET consumed_at = $1 \
         WHERE id = $2 AND status = 'approved' AND consumed_at IS NULL";
    rows::update_once(conn, sql, now, id).await
}
