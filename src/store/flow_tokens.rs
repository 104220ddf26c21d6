//! Paused flow plans a link resumes (authentik's `FlowToken`): found by the digest of the key
//! the link carries, claimed at most once by one conditional UPDATE.

use super::Conn;
use super::StoreResult;
use super::rows::{self, DomainRow, TableRow};

/// One stored flow token. The key itself is never stored, only its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowToken {
    /// Row id (also what the restored plan's `is_restored` names).
    pub id: String,
    /// SHA-256 of the link's key.
    pub key_digest: String,
    /// The flow the plan belongs to.
    pub flow_id: String,
    /// The pending user the plan was made for.
    pub user_id: String,
    /// `email` or `recovery` (see [`PURPOSE_EMAIL`], [`PURPOSE_RECOVERY`]).
    pub purpose: String,
    /// The serialised plan.
    pub plan: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Refused at or after this second.
    pub expires_at: i64,
    /// Set once when claimed.
    pub used_at: Option<i64>,
}

/// A token the email stage sent.
pub const PURPOSE_EMAIL: &str = "email";
/// A recovery link an administrator created.
pub const PURPOSE_RECOVERY: &str = "recovery";

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    key_digest: String,
    flow_id: String,
    user_id: String,
    purpose: String,
    plan: String,
    created_at: i64,
    expires_at: i64,
    used_at: Option<i64>,
}

impl TableRow for Row {
    const COLUMNS: &'static str =
        "id, key_digest, flow_id, user_id, purpose, plan, created_at, expires_at, used_at";
    const TABLE: &'static str = "flow_tokens";
}

impl DomainRow for Row {
    type Domain = FlowToken;
    fn into_domain(self) -> StoreResult<FlowToken> {
        Ok(FlowToken {
            id: self.id,
            key_digest: self.key_digest,
            flow_id: self.flow_id,
            user_id: self.user_id,
            purpose: self.purpose,
            plan: self.plan,
            created_at: self.created_at,
            expires_at: self.expires_at,
            used_at: self.used_at,
        })
    }
}

/// The token whose key digests to `digest`.
pub async fn by_key_digest(conn: &mut Conn, digest: &str) -> StoreResult<Option<FlowToken>> {
    rows::select_one::<Row>(conn, "WHERE key_digest = $1", digest).await
}

/// Stores a new token, dropping the expired ones first (no sweep needs to run for them to go).
pub async fn insert(conn: &mut Conn, t: &FlowToken) -> StoreResult<()> {
    sqlx::query("DELETE FROM flow_tokens WHERE expires_at <= $1")
        .bind(t.created_at)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO flow_tokens (id, key_digest, flow_id, user_id, purpose, plan, created_at, \
         expires_at, used_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,NULL)",
    )
    .bind(&t.id)
    .bind(&t.key_digest)
    .bind(&t.flow_id)
    .bind(&t.user_id)
    .bind(&t.purpose)
    .bind(&t.plan)
    .bind(t.created_at)
    .bind(t.expires_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Marks `id` used if it is unused and unexpired at `now` (one conditional UPDATE, so a token
/// is claimed at most once however many requests race). False when it was not claimed.
pub async fn claim(conn: &mut Conn, id: &str, now: i64) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE flow_tokens SET used_at = $1 WHERE id = $2 AND used_at IS NULL AND expires_at > $3",
    )
    .bind(now)
    .bind(id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
