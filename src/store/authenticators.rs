//! Authenticator devices (TOTP) and per-user throttling of code attempts.

use super::Conn;

use super::StoreResult;

/// A stored authenticator device.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct DeviceRow {
    pub id: String,
    pub user_id: String,
    pub kind: String,
    pub name: String,
    pub secret: String,
    #[sqlx(try_from = "super::engine::Flag")]
    pub confirmed: bool,
    pub last_used_step: Option<i64>,
    pub created_at: i64,
    /// A TOTP device's code length (6 or 8; 6 for other kinds).
    pub digits: i64,
}

/// The confirmed devices of a user of one kind.
pub async fn confirmed_of_user(
    conn: &mut Conn,
    user_id: &str,
    kind: &str,
) -> StoreResult<Vec<DeviceRow>> {
    Ok(sqlx::query_as(
        "SELECT id, user_id, kind, name, secret, confirmed, last_used_step, created_at, digits \
         FROM authenticator_devices WHERE user_id = $1 AND kind = $2 AND confirmed = TRUE ORDER BY created_at",
    )
    .bind(user_id)
    .bind(kind)
    .fetch_all(conn)
    .await?)
}

/// Number of confirmed devices of a user (any kind).
pub async fn count_confirmed(conn: &mut Conn, user_id: &str) -> StoreResult<i64> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM authenticator_devices WHERE user_id = $1 AND confirmed = TRUE",
    )
    .bind(user_id)
    .fetch_one(conn)
    .await?)
}

/// Inserts a device.
pub async fn insert(conn: &mut Conn, d: &DeviceRow) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO authenticator_devices (id, user_id, kind, name, secret, confirmed, \
         last_used_step, created_at, digits) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)",
    )
    .bind(&d.id)
    .bind(&d.user_id)
    .bind(&d.kind)
    .bind(&d.name)
    .bind(&d.secret)
    .bind(d.confirmed)
    .bind(d.last_used_step)
    .bind(d.created_at)
    .bind(d.digits)
    .execute(conn)
    .await?;
    Ok(())
}

/// Marks time step `step` used, only if no later-or-equal step was used: one conditional UPDATE,
/// so a code is accepted at most once even under concurrency. True when this call won.
pub async fn consume_step(conn: &mut Conn, id: &str, step: i64) -> StoreResult<bool> {
    let res = sqlx::query(
        "UPDATE authenticator_devices SET last_used_step = $1 \
         WHERE id = $2 AND (last_used_step IS NULL OR last_used_step < $3)",
    )
    .bind(step)
    .bind(id)
    .bind(step)
    .execute(conn)
    .await?;
    Ok(res.rows_affected() == 1)
}

/// Notes that device `id` passed a validation at `now` (`last_used_at`).
pub async fn mark_used(conn: &mut Conn, id: &str, now: i64) -> StoreResult<()> {
    sqlx::query("UPDATE authenticator_devices SET last_used_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// The latest validation of any confirmed device of `user_id` whose kind is one of `kinds`.
pub async fn last_used_of_kinds(
    conn: &mut Conn,
    user_id: &str,
    kinds: &[String],
) -> StoreResult<Option<i64>> {
    let mut latest: Option<i64> = None;
    for kind in kinds {
        let at: Option<i64> = sqlx::query_scalar(
            "SELECT max(last_used_at) FROM authenticator_devices \
             WHERE user_id = $1 AND kind = $2 AND confirmed = TRUE",
        )
        .bind(user_id)
        .bind(kind)
        .fetch_one(&mut *conn)
        .await?;
        latest = latest.max(at);
    }
    Ok(latest)
}

/// Counts one failed code attempt for a user in a window of `window` seconds (atomic UPSERT);
/// returns the failures in the current window.
pub async fn record_failure(
    conn: &mut Conn,
    user_id: &str,
    now: i64,
    window: i64,
) -> StoreResult<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO otp_throttle (user_id, failures, window_start) VALUES ($1, 1, $2) \
         ON CONFLICT (user_id) DO UPDATE SET \
           failures = CASE WHEN otp_throttle.window_start + $3 <= excluded.window_start \
             THEN 1 ELSE otp_throttle.failures + 1 END, \
           window_start = CASE WHEN otp_throttle.window_start + $4 <= excluded.window_start \
             THEN excluded.window_start ELSE otp_throttle.window_start END \
         RETURNING failures",
    )
    .bind(user_id)
    .bind(now)
    .bind(window)
    .bind(window)
    .fetch_one(conn)
    .await?)
}

/// Failures of a user in the window that is live at `now`.
pub async fn failures(conn: &mut Conn, user_id: &str, now: i64, window: i64) -> StoreResult<i64> {
    let n: Option<i64> = sqlx::query_scalar(
        "SELECT failures FROM otp_throttle WHERE user_id = $1 AND window_start + $2 > $3",
    )
    .bind(user_id)
    .bind(window)
    .bind(now)
    .fetch_optional(conn)
    .await?;
    Ok(n.unwrap_or(0))
}

/// The kinds (`totp`, `static`, `webauthn`, …) of a user's confirmed devices, one per device
/// (what `ak_user_has_authenticator(user, device_type=…)` asks about).
pub async fn confirmed_kinds(conn: &mut Conn, user_id: &str) -> StoreResult<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT kind FROM authenticator_devices WHERE user_id = $1 AND confirmed = TRUE ORDER BY created_at",
    )
    .bind(user_id)
    .fetch_all(conn)
    .await?)
}

/// Every confirmed device of a user, any kind, oldest first (the admin's account care).
pub async fn confirmed_of_user_any_kind(
    conn: &mut Conn,
    user_id: &str,
) -> StoreResult<Vec<DeviceRow>> {
    Ok(sqlx::query_as(
        "SELECT id, user_id, kind, name, secret, confirmed, last_used_step, created_at, digits \
         FROM authenticator_devices WHERE user_id = $1 AND confirmed = TRUE ORDER BY created_at",
    )
    .bind(user_id)
    .fetch_all(conn)
    .await?)
}

/// Deletes one device of a user (its recovery codes go with it); true when it existed.
pub async fn delete_of_user(conn: &mut Conn, user_id: &str, id: &str) -> StoreResult<bool> {
    let res = sqlx::query("DELETE FROM authenticator_devices WHERE id = $1 AND user_id = $2")
        .bind(id)
        .bind(user_id)
        .execute(conn)
        .await?;
    Ok(res.rows_affected() == 1)
}

/// Deletes every device of a user, confirmed or not; returns how many.
pub async fn delete_all_of_user(conn: &mut Conn, user_id: &str) -> StoreResult<u64> {
    let res = sqlx::query("DELETE FROM authenticator_devices WHERE user_id = $1")
        .bind(user_id)
        .execute(conn)
        .await?;
    Ok(res.rows_affected())
}

/// Every confirmed device of every user, oldest first (the console's snapshot).
pub async fn all_confirmed(conn: &mut Conn) -> StoreResult<Vec<DeviceRow>> {
    Ok(sqlx::query_as(
        "SELECT id, user_id, kind, name, secret, confirmed, last_used_step, created_at, digits \
         FROM authenticator_devices WHERE confirmed = TRUE ORDER BY created_at, id",
    )
    .fetch_all(conn)
    .await?)
}
