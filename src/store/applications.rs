//! Applications.

use sqlx::{AssertSqlSafe, SqliteConnection};

use super::StoreResult;
use super::rows::{check_updated, parse_enum, with_value};
use crate::domain::Application;

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    name: String,
    slug: String,
    provider_id: Option<String>,
    group_name: String,
    policy_engine_mode: String,
    meta_launch_url: String,
    open_in_new_tab: bool,
    meta_icon: String,
    meta_publisher: String,
    meta_description: String,
    created_at: i64,
    updated_at: i64,
    version: i64,
}

impl Row {
    fn into_domain(self) -> StoreResult<Application> {
        Ok(Application {
            policy_engine_mode: parse_enum(
                &format!("application {}", self.slug),
                &self.policy_engine_mode,
            )?,
            id: self.id,
            name: self.name,
            slug: self.slug,
            provider_id: self.provider_id,
            group: self.group_name,
            meta_launch_url: self.meta_launch_url,
            open_in_new_tab: self.open_in_new_tab,
            meta_icon: self.meta_icon,
            meta_publisher: self.meta_publisher,
            meta_description: self.meta_description,
            created_at: self.created_at,
            updated_at: self.updated_at,
            version: self.version,
        })
    }
}

const COLS: &str = "id, name, slug, provider_id, group_name, policy_engine_mode, meta_launch_url, \
    open_in_new_tab, meta_icon, meta_publisher, meta_description, created_at, updated_at, version";

/// Every application, by slug.
pub async fn list(conn: &mut SqliteConnection) -> StoreResult<Vec<Application>> {
    let rows: Vec<Row> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {COLS} FROM applications ORDER BY slug"
    )))
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(Row::into_domain).collect()
}

/// One application by id.
pub async fn get(conn: &mut SqliteConnection, id: &str) -> StoreResult<Option<Application>> {
    let row: Option<Row> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {COLS} FROM applications WHERE id = ?"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.map(Row::into_domain).transpose()
}

/// One application by slug.
pub async fn get_by_slug(
    conn: &mut SqliteConnection,
    slug: &str,
) -> StoreResult<Option<Application>> {
    let row: Option<Row> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {COLS} FROM applications WHERE slug = ?"
    )))
    .bind(slug)
    .fetch_optional(conn)
    .await?;
    row.map(Row::into_domain).transpose()
}

/// Inserts an application.
pub async fn insert(conn: &mut SqliteConnection, a: &Application) -> StoreResult<()> {
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO applications ({COLS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
    )))
    .bind(&a.id)
    .bind(&a.name)
    .bind(&a.slug)
    .bind(&a.provider_id)
    .bind(&a.group)
    .bind(a.policy_engine_mode.as_str())
    .bind(&a.meta_launch_url)
    .bind(a.open_in_new_tab)
    .bind(&a.meta_icon)
    .bind(&a.meta_publisher)
    .bind(&a.meta_description)
    .bind(a.created_at)
    .bind(a.updated_at)
    .bind(a.version)
    .execute(conn)
    .await
    .map_err(|e| with_value(e.into(), |f| dup_value(a, f)))?;
    Ok(())
}

fn dup_value(a: &Application, field: &str) -> String {
    if field == "provider_id" {
        "(provider already used by another application)".into()
    } else {
        a.slug.clone()
    }
}

/// Updates an application with an optimistic version check.
pub async fn update(conn: &mut SqliteConnection, a: &Application) -> StoreResult<()> {
    let res = sqlx::query(
        "UPDATE applications SET name=?, slug=?, provider_id=?, group_name=?, policy_engine_mode=?, \
         meta_launch_url=?, open_in_new_tab=?, meta_icon=?, meta_publisher=?, meta_description=?, \
         updated_at=?, version=version+1 WHERE id=? AND version=?",
    )
    .bind(&a.name)
    .bind(&a.slug)
    .bind(&a.provider_id)
    .bind(&a.group)
    .bind(a.policy_engine_mode.as_str())
    .bind(&a.meta_launch_url)
    .bind(a.open_in_new_tab)
    .bind(&a.meta_icon)
    .bind(&a.meta_publisher)
    .bind(&a.meta_description)
    .bind(a.updated_at)
    .bind(&a.id)
    .bind(a.version)
    .execute(conn)
    .await
    .map_err(|e| with_value(e.into(), |f| dup_value(a, f)))?;
    check_updated(res.rows_affected(), &format!("application {}", a.slug))
}

/// Deletes an application.
pub async fn delete(conn: &mut SqliteConnection, id: &str) -> StoreResult<()> {
    sqlx::query("DELETE FROM applications WHERE id = ?")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}
