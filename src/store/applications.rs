//! Applications.

use super::Conn;
use sqlx::AssertSqlSafe;

use super::StoreResult;
use super::rows::{self, DomainRow, Query, TableRow, parse_enum};
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
    #[sqlx(try_from = "super::engine::Flag")]
    open_in_new_tab: bool,
    meta_icon: String,
    meta_publisher: String,
    meta_description: String,
    created_at: i64,
    updated_at: i64,
    version: i64,
}

const COLS: &str = "id, name, slug, provider_id, group_name, policy_engine_mode, meta_launch_url, \
    open_in_new_tab, meta_icon, meta_publisher, meta_description, created_at, updated_at, version";

impl TableRow for Row {
    const COLUMNS: &'static str = COLS;
    const TABLE: &'static str = "applications";
}

impl DomainRow for Row {
    type Domain = Application;
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

/// Every application, by slug.
pub async fn list(conn: &mut Conn) -> StoreResult<Vec<Application>> {
    rows::select_all::<Row>(conn, "ORDER BY slug", &[]).await
}

/// One application by id.
pub async fn get(conn: &mut Conn, id: &str) -> StoreResult<Option<Application>> {
    rows::select_one::<Row>(conn, "WHERE id = $1", id).await
}

/// One application by slug.
pub async fn get_by_slug(conn: &mut Conn, slug: &str) -> StoreResult<Option<Application>> {
    rows::select_one::<Row>(conn, "WHERE slug = $1", slug).await
}

/// Binds the columns an insert and an update both write, in [`COLS`] order.
fn bind_fields<'q>(q: Query<'q>, a: &'q Application) -> Query<'q> {
    q.bind(&a.name)
        .bind(&a.slug)
        .bind(&a.provider_id)
        .bind(&a.group)
        .bind(a.policy_engine_mode.as_str())
        .bind(&a.meta_launch_url)
        .bind(a.open_in_new_tab)
        .bind(&a.meta_icon)
        .bind(&a.meta_publisher)
        .bind(&a.meta_description)
}

/// Inserts an application.
pub async fn insert(conn: &mut Conn, a: &Application) -> StoreResult<()> {
    let sql = format!(
        "INSERT INTO applications ({COLS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)"
    );
    let q = bind_fields(sqlx::query(AssertSqlSafe(sql)).bind(&a.id), a);
    let q = q.bind(a.created_at).bind(a.updated_at).bind(a.version);
    rows::insert_object(conn, q, |f| dup_value(a, f)).await
}

fn dup_value(a: &Application, field: &str) -> String {
    if field == "provider_id" {
        "(provider already used by another application)".into()
    } else {
        a.slug.clone()
    }
}

/// Updates an application with an optimistic version check.
pub async fn update(conn: &mut Conn, a: &Application) -> StoreResult<()> {
    let sql = "UPDATE applications SET name=$1, slug=$2, provider_id=$3, group_name=$4, \
         policy_engine_mode=$5, meta_launch_url=$6, open_in_new_tab=$7, meta_icon=$8, \
         meta_publisher=$9, meta_description=$10, updated_at=$11, version=version+1 \
         WHERE id=$12 AND version=$13";
    let q = bind_fields(sqlx::query(sql), a);
    let q = q.bind(a.updated_at).bind(&a.id).bind(a.version);
    let what = format!("application {}", a.slug);
    rows::update_object(conn, q, &what, |f| dup_value(a, f)).await
}

/// Deletes an application.
pub async fn delete(conn: &mut Conn, id: &str) -> StoreResult<()> {
    rows::delete_by_id(conn, "applications", id).await?;
    Ok(())
}
