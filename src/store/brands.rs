//! Brands.

use super::Conn;
use sqlx::AssertSqlSafe;

use super::StoreResult;
use super::rows::{self, DomainRow, Query, TableRow, json_or_empty, parse_json};
use crate::domain::Brand;

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    domain: String,
    #[sqlx(try_from = "super::engine::Flag")]
    is_default: bool,
    branding_title: String,
    branding_logo: String,
    branding_favicon: String,
    branding_custom_css: String,
    flow_authentication_id: Option<String>,
    flow_invalidation_id: Option<String>,
    flow_recovery_id: Option<String>,
    flow_unenrollment_id: Option<String>,
    flow_user_settings_id: Option<String>,
    flow_device_code_id: Option<String>,
    web_certificate_id: Option<String>,
    default_application_id: Option<String>,
    attributes: String,
    created_at: i64,
    updated_at: i64,
    version: i64,
}

impl DomainRow for Row {
    type Domain = Brand;
    fn into_domain(self) -> StoreResult<Brand> {
        Ok(Brand {
            attributes: parse_json(&format!("brand {}", self.domain), &self.attributes)?,
            id: self.id,
            domain: self.domain,
            default: self.is_default,
            branding_title: self.branding_title,
            branding_logo: self.branding_logo,
            branding_favicon: self.branding_favicon,
            branding_custom_css: self.branding_custom_css,
            flow_authentication_id: self.flow_authentication_id,
            flow_invalidation_id: self.flow_invalidation_id,
            flow_recovery_id: self.flow_recovery_id,
            flow_unenrollment_id: self.flow_unenrollment_id,
            flow_user_settings_id: self.flow_user_settings_id,
            flow_device_code_id: self.flow_device_code_id,
            web_certificate_id: self.web_certificate_id,
            default_application_id: self.default_application_id,
            created_at: self.created_at,
            updated_at: self.updated_at,
            version: self.version,
        })
    }
}

impl TableRow for Row {
    const COLUMNS: &'static str = "id, domain, is_default, branding_title, branding_logo, \
        branding_favicon, branding_custom_css, flow_authentication_id, flow_invalidation_id, \
        flow_recovery_id, flow_unenrollment_id, flow_user_settings_id, flow_device_code_id, \
        web_certificate_id, default_application_id, attributes, created_at, updated_at, version";
    const TABLE: &'static str = "brands";
}

/// Every brand, by domain.
pub async fn list(conn: &mut Conn) -> StoreResult<Vec<Brand>> {
    rows::select_all::<Row>(conn, "ORDER BY domain", &[]).await
}

/// One brand by domain.
pub async fn get_by_domain(conn: &mut Conn, domain: &str) -> StoreResult<Option<Brand>> {
    rows::select_one::<Row>(conn, "WHERE domain = $1", domain).await
}

fn bind_all<'q>(q: Query<'q>, b: &'q Brand) -> Query<'q> {
    q.bind(&b.domain)
        .bind(b.default)
        .bind(&b.branding_title)
        .bind(&b.branding_logo)
        .bind(&b.branding_favicon)
        .bind(&b.branding_custom_css)
        .bind(&b.flow_authentication_id)
        .bind(&b.flow_invalidation_id)
        .bind(&b.flow_recovery_id)
        .bind(&b.flow_unenrollment_id)
        .bind(&b.flow_user_settings_id)
        .bind(&b.flow_device_code_id)
        .bind(&b.web_certificate_id)
        .bind(&b.default_application_id)
        .bind(json_or_empty(&b.attributes))
}

/// Inserts a brand.
pub async fn insert(conn: &mut Conn, b: &Brand) -> StoreResult<()> {
    let sql = String::from(
        "INSERT INTO brands (domain, is_default, branding_title, branding_logo, branding_favicon, \
         branding_custom_css, flow_authentication_id, flow_invalidation_id, flow_recovery_id, \
         flow_unenrollment_id, flow_user_settings_id, flow_device_code_id, web_certificate_id, \
         default_application_id, attributes, id, created_at, updated_at, version) \
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19)",
    );
    let q = bind_all(sqlx::query(AssertSqlSafe(sql)), b).bind(&b.id);
    let q = q.bind(b.created_at).bind(b.updated_at).bind(b.version);
    rows::insert_object(conn, q, |f| dup_value(b, f)).await
}

fn dup_value(b: &Brand, field: &str) -> String {
    if field == "is_default" {
        "(another brand is already the default)".into()
    } else {
        b.domain.clone()
    }
}

/// Updates a brand with an optimistic version check.
pub async fn update(conn: &mut Conn, b: &Brand) -> StoreResult<()> {
    let sql = "UPDATE brands SET domain=$1, is_default=$2, branding_title=$3, branding_logo=$4, \
         branding_favicon=$5, branding_custom_css=$6, flow_authentication_id=$7, flow_invalidation_id=$8, \
         flow_recovery_id=$9, flow_unenrollment_id=$10, flow_user_settings_id=$11, flow_device_code_id=$12, \
         web_certificate_id=$13, default_application_id=$14, attributes=$15, updated_at=$16, \
         version=version+1 WHERE id=$17 AND version=$18";
    let q = bind_all(sqlx::query(AssertSqlSafe(sql)), b);
    let q = q.bind(b.updated_at).bind(&b.id).bind(b.version);
    rows::update_object(conn, q, &format!("brand {}", b.domain), |f| dup_value(b, f)).await
}

/// Deletes a brand.
pub async fn delete(conn: &mut Conn, id: &str) -> StoreResult<()> {
    rows::delete_by_id(conn, "brands", id).await?;
    Ok(())
}
