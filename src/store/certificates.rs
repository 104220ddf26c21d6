//! Certificate keypairs. Private keys stay here and are never served over HTTP.

use super::Conn;
use sqlx::AssertSqlSafe;

use super::StoreResult;
use super::rows::{self, DomainRow, Query, TableRow, parse_enum};
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

const COLS: &str = "id, name, certificate_pem, key_pem, managed, key_type, kid, fingerprint_sha256, \
    fingerprint_sha1, subject, not_before, not_after, created_at, updated_at, version";

impl TableRow for Row {
    const COLUMNS: &'static str = COLS;
    const TABLE: &'static str = "certificate_keypairs";
}

impl DomainRow for Row {
    type Domain = CertificateKeypair;
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

/// Every keypair, by name.
pub async fn list(conn: &mut Conn) -> StoreResult<Vec<CertificateKeypair>> {
    rows::select_all::<Row>(conn, "ORDER BY name", &[]).await
}

/// One keypair by id.
pub async fn get(conn: &mut Conn, id: &str) -> StoreResult<Option<CertificateKeypair>> {
    rows::select_one::<Row>(conn, "WHERE id = $1", id).await
}

/// One keypair by name.
pub async fn get_by_name(conn: &mut Conn, name: &str) -> StoreResult<Option<CertificateKeypair>> {
    rows::select_one::<Row>(conn, "WHERE name = $1", name).await
}

/// Binds the columns an insert and an update both write, in [`COLS`] order.
fn bind_fields<'q>(q: Query<'q>, c: &'q CertificateKeypair) -> Query<'q> {
    q.bind(&c.name)
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
}

/// Inserts a keypair.
pub async fn insert(conn: &mut Conn, c: &CertificateKeypair) -> StoreResult<()> {
    let sql = format!(
        "INSERT INTO certificate_keypairs ({COLS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15)"
    );
    let q = bind_fields(sqlx::query(AssertSqlSafe(sql)).bind(&c.id), c);
    let q = q.bind(c.created_at).bind(c.updated_at).bind(c.version);
    rows::insert_object(conn, q, |_| c.name.clone()).await
}

/// Updates a keypair with an optimistic version check.
pub async fn update(conn: &mut Conn, c: &CertificateKeypair) -> StoreResult<()> {
    let sql = "UPDATE certificate_keypairs SET name=$1, certificate_pem=$2, key_pem=$3, managed=$4, \
         key_type=$5, kid=$6, fingerprint_sha256=$7, fingerprint_sha1=$8, subject=$9, not_before=$10, \
         not_after=$11, updated_at=$12, version=version+1 WHERE id=$13 AND version=$14";
    let q = bind_fields(sqlx::query(sql), c);
    let q = q.bind(c.updated_at).bind(&c.id).bind(c.version);
    rows::update_object(conn, q, &format!("certificate {}", c.name), |_| {
        c.name.clone()
    })
    .await
}

/// Deletes a keypair; refused by the database while a provider signs with it.
pub async fn delete(conn: &mut Conn, id: &str) -> StoreResult<()> {
    rows::delete_by_id(conn, "certificate_keypairs", id).await?;
    Ok(())
}
