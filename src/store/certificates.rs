//! Certificate keypairs. Private keys stay here and are never served over HTTP.

use sqlx::{AssertSqlSafe, SqliteConnection};

use super::StoreResult;
use super::rows::{check_updated, parse_enum, with_value};
use crate::domain::CertificateKeypair;

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    name: String,
    certificate_pem: String,
    key_pem: Option<String>,
    managed: Option<String>,
    key_type: String,
    kid: String,
    fingerprint_sha256: String,
    fingerprint_sha1: String,
    subject: String,
    not_before: i64,
    not_after: i64,
    created_at: i64,
    updated_at: i64,
    version: i64,
}

impl Row {
    fn into_domain(self) -> StoreResult<CertificateKeypair> {
        Ok(CertificateKeypair {
            key_type: parse_enum(&format!("certificate {}", self.name), &self.key_type)?,
            id: self.id,
            name: self.name,
            certificate_pem: self.certificate_pem,
            key_pem: self.key_pem,
            managed: self.managed,
            kid: self.kid,
            fingerprint_sha256: self.fingerprint_sha256,
            fingerprint_sha1: self.fingerprint_sha1,
            subject: self.subject,
            not_before: self.not_before,
            not_after: self.not_after,
            created_at: self.created_at,
            updated_at: self.updated_at,
            version: self.version,
        })
    }
}

const COLS: &str = "id, name, certificate_pem, key_pem, managed, key_type, kid, fingerprint_sha256, \
    fingerprint_sha1, subject, not_before, not_after, created_at, updated_at, version";

/// Every keypair, by name.
pub async fn list(conn: &mut SqliteConnection) -> StoreResult<Vec<CertificateKeypair>> {
    let rows: Vec<Row> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {COLS} FROM certificate_keypairs ORDER BY name"
    )))
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(Row::into_domain).collect()
}

/// One keypair by id.
pub async fn get(conn: &mut SqliteConnection, id: &str) -> StoreResult<Option<CertificateKeypair>> {
    let row: Option<Row> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {COLS} FROM certificate_keypairs WHERE id = ?"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.map(Row::into_domain).transpose()
}

/// One keypair by name.
pub async fn get_by_name(
    conn: &mut SqliteConnection,
    name: &str,
) -> StoreResult<Option<CertificateKeypair>> {
    let row: Option<Row> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {COLS} FROM certificate_keypairs WHERE name = ?"
    )))
    .bind(name)
    .fetch_optional(conn)
    .await?;
    row.map(Row::into_domain).transpose()
}

/// Inserts a keypair.
pub async fn insert(conn: &mut SqliteConnection, c: &CertificateKeypair) -> StoreResult<()> {
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO certificate_keypairs ({COLS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
    )))
    .bind(&c.id)
    .bind(&c.name)
    .bind(&c.certificate_pem)
    .bind(&c.key_pem)
    .bind(&c.managed)
    .bind(c.key_type.as_str())
    .bind(&c.kid)
    .bind(&c.fingerprint_sha256)
    .bind(&c.fingerprint_sha1)
    .bind(&c.subject)
    .bind(c.not_before)
    .bind(c.not_after)
    .bind(c.created_at)
    .bind(c.updated_at)
    .bind(c.version)
    .execute(conn)
    .await
    .map_err(|e| with_value(e.into(), |_| c.name.clone()))?;
    Ok(())
}

/// Updates a keypair with an optimistic version check.
pub async fn update(conn: &mut SqliteConnection, c: &CertificateKeypair) -> StoreResult<()> {
    let res = sqlx::query(
        "UPDATE certificate_keypairs SET name=?, certificate_pem=?, key_pem=?, managed=?, key_type=?, \
         kid=?, fingerprint_sha256=?, fingerprint_sha1=?, subject=?, not_before=?, not_after=?, \
         updated_at=?, version=version+1 WHERE id=? AND version=?",
    )
    .bind(&c.name)
    .bind(&c.certificate_pem)
    .bind(&c.key_pem)
    .bind(&c.managed)
    .bind(c.key_type.as_str())
    .bind(&c.kid)
    .bind(&c.fingerprint_sha256)
    .bind(&c.fingerprint_sha1)
    .bind(&c.subject)
    .bind(c.not_before)
    .bind(c.not_after)
    .bind(c.updated_at)
    .bind(&c.id)
    .bind(c.version)
    .execute(conn)
    .await
    .map_err(|e| with_value(e.into(), |_| c.name.clone()))?;
    check_updated(res.rows_affected(), &format!("certificate {}", c.name))
}

/// Deletes a keypair; refused by the database while a provider signs with it.
pub async fn delete(conn: &mut SqliteConnection, id: &str) -> StoreResult<()> {
    sqlx::query("DELETE FROM certificate_keypairs WHERE id = ?")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}
