//! Invitations (authentik's `Invitation`): the link's token is kept as its SHA-256 digest only,
//! found by that digest (a unique, indexed column); a single-use invitation is consumed by one
//! conditional DELETE inside the transaction that writes the enrolled user.

use super::Conn;

use super::StoreResult;

/// A stored invitation.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct InvitationRow {
    /// Its id (what the console and CLI name it by, with its name).
    pub id: String,
    /// Its unique name.
    pub name: String,
    /// SHA-256 of the link's token.
    pub token_digest: String,
    /// The only flow that accepts it, when set.
    pub flow_id: Option<String>,
    /// JSON object fixed over what the user types.
    pub fixed_data: String,
    /// Consumed by the first enrollment.
    #[sqlx(try_from = "super::engine::Flag")]
    pub single_use: bool,
    /// Unix seconds after which it is refused; `None` never expires.
    pub expires_at: Option<i64>,
    /// Who made it.
    pub created_by: String,
    /// Unix seconds.
    pub created_at: i64,
}

const COLS: &str =
    "id, name, token_digest, flow_id, fixed_data, single_use, expires_at, created_by, created_at";

/// Inserts an invitation.
pub async fn insert(conn: &mut Conn, i: &InvitationRow) -> StoreResult<()> {
    let sql = format!("INSERT INTO invitations ({COLS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(&i.id)
        .bind(&i.name)
        .bind(&i.token_digest)
        .bind(&i.flow_id)
        .bind(&i.fixed_data)
        .bind(i.single_use)
        .bind(i.expires_at)
        .bind(&i.created_by)
        .bind(i.created_at)
        .execute(conn)
        .await?;
    Ok(())
}

/// Every invitation, by name.
pub async fn list(conn: &mut Conn) -> StoreResult<Vec<InvitationRow>> {
    let sql = format!("SELECT {COLS} FROM invitations ORDER BY name");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .fetch_all(conn)
        .await?)
}

/// The invitation whose token has this digest (the caller checks expiry and flow).
pub async fn by_token_digest(conn: &mut Conn, digest: &str) -> StoreResult<Option<InvitationRow>> {
    let sql = format!("SELECT {COLS} FROM invitations WHERE token_digest = $1");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(digest)
        .fetch_optional(conn)
        .await?)
}

/// The invitation named `name` or with id `name`.
pub async fn by_name_or_id(conn: &mut Conn, name: &str) -> StoreResult<Option<InvitationRow>> {
    let sql = format!("SELECT {COLS} FROM invitations WHERE name = $1 OR id = $2");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(name)
        .bind(name)
        .fetch_optional(conn)
        .await?)
}

/// Consumes a single-use invitation: true when this call deleted it (so of two enrollments
/// racing on one link exactly one wins).
pub async fn consume(conn: &mut Conn, id: &str) -> StoreResult<bool> {
    let res = sqlx::query("DELETE FROM invitations WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(res.rows_affected() == 1)
}

/// Deletes an invitation; true when one was deleted.
pub async fn delete(conn: &mut Conn, id: &str) -> StoreResult<bool> {
    consume(conn, id).await
}
