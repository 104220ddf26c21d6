//! The Agent's enrollment tokens. The key is kept as its SHA-256 digest only; a presented key
//! is found by its digest (a unique, indexed column).

use super::Conn;
use sqlx::AssertSqlSafe;

use super::StoreResult;
use super::rows::{self, DomainRow, Query, TableRow};
use crate::domain::EnrollmentToken;

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    name: String,
    key_digest: String,
    connector_id: String,
    device_group_id: Option<String>,
    #[sqlx(try_from = "super::engine::Flag")]
    expiring: bool,
    expires_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
    version: i64,
}

const COLS: &str = "id, name, key_digest, connector_id, device_group_id, expiring, expires_at, \
    created_at, updated_at, version";

impl TableRow for Row {
    const COLUMNS: &'static str = COLS;
    const TABLE: &'static str = "enrollment_tokens";
}

impl DomainRow for Row {
    type Domain = EnrollmentToken;
    fn into_domain(self) -> StoreResult<EnrollmentToken> {
        Ok(EnrollmentToken {
            id: self.id,
            name: self.name,
            connector_id: self.connector_id,
            device_group_id: self.device_group_id,
            key_digest: self.key_digest,
            expiring: self.expiring,
            expires_at: self.expires_at,
            created_at: self.created_at,
            updated_at: self.updated_at,
            version: self.version,
        })
    }
}

/// Every enrollment token, by name.
pub async fn list(conn: &mut Conn) -> StoreResult<Vec<EnrollmentToken>> {
    rows::select_all::<Row>(conn, "ORDER BY name", &[]).await
}

/// The token whose key digest is `digest` (the service compares it again in constant time and
/// checks expiry).
pub async fn by_key_digest(conn: &mut Conn, digest: &str) -> StoreResult<Option<EnrollmentToken>> {
    rows::select_one::<Row>(conn, "WHERE key_digest = $1", digest).await
}

fn bind_fields<'q>(q: Query<'q>, t: &'q EnrollmentToken) -> Query<'q> {
    q.bind(&t.name)
        .bind(&t.key_digest)
        .bind(&t.connector_id)
        .bind(&t.device_group_id)
        .bind(t.expiring)
        .bind(t.expires_at)
}

/// Inserts an enrollment token.
pub async fn insert(conn: &mut Conn, t: &EnrollmentToken) -> StoreResult<()> {
    let sql =
        format!("INSERT INTO enrollment_tokens ({COLS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)");
    let q = bind_fields(sqlx::query(AssertSqlSafe(sql)).bind(&t.id), t);
    let q = q.bind(t.created_at).bind(t.updated_at).bind(t.version);
    rows::insert_object(conn, q, |_| t.name.clone()).await
}

/// Updates an enrollment token with an optimistic version check.
pub async fn update(conn: &mut Conn, t: &EnrollmentToken) -> StoreResult<()> {
    let sql = "UPDATE enrollment_tokens SET name=$1, key_digest=$2, connector_id=$3, \
               device_group_id=$4, expiring=$5, expires_at=$6, updated_at=$7, version=version+1 \
               WHERE id=$8 AND version=$9";
    let q = bind_fields(sqlx::query(sql), t);
    let q = q.bind(t.updated_at).bind(&t.id).bind(t.version);
    let what = format!("enrollment token {}", t.name);
    rows::update_object(conn, q, &what, |_| t.name.clone()).await
}

/// Deletes an enrollment token.
pub async fn delete(conn: &mut Conn, id: &str) -> StoreResult<()> {
    rows::delete_by_id(conn, "enrollment_tokens", id).await?;
    Ok(())
}
