//! OAuth2 scope mappings.

use super::Conn;
use sqlx::AssertSqlSafe;

use super::StoreResult;
use super::rows::{self, DomainRow, Query, TableRow};
use crate::domain::ScopeMapping;

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    name: String,
    managed: Option<String>,
    scope_name: String,
    description: String,
    expression: String,
    created_at: i64,
    updated_at: i64,
    version: i64,
}

const COLS: &str =
    "id, name, managed, scope_name, description, expression, created_at, updated_at, version";

impl TableRow for Row {
    const COLUMNS: &'static str = COLS;
    const TABLE: &'static str = "scope_mappings";
}

impl DomainRow for Row {
    type Domain = ScopeMapping;
    fn into_domain(self) -> StoreResult<ScopeMapping> {
        Ok(ScopeMapping {
            id: self.id,
            name: self.name,
            managed: self.managed,
            scope_name: self.scope_name,
            description: self.description,
            expression: self.expression,
            created_at: self.created_at,
            updated_at: self.updated_at,
            version: self.version,
        })
    }
}

/// Every scope mapping, by scope name.
pub async fn list(conn: &mut Conn) -> StoreResult<Vec<ScopeMapping>> {
    rows::select_all::<Row>(conn, "ORDER BY scope_name, name", &[]).await
}

/// One scope mapping by its managed id (authentik's `goauthentik.io/providers/oauth2/scope-*`).
pub async fn get_by_managed(conn: &mut Conn, managed: &str) -> StoreResult<Option<ScopeMapping>> {
    rows::select_one::<Row>(conn, "WHERE managed = $1", managed).await
}

/// Binds the columns an insert and an update both write, in [`COLS`] order.
fn bind_fields<'q>(q: Query<'q>, m: &'q ScopeMapping) -> Query<'q> {
    q.bind(&m.name)
        .bind(&m.managed)
        .bind(&m.scope_name)
        .bind(&m.description)
        .bind(&m.expression)
}

/// Inserts a scope mapping.
pub async fn insert(conn: &mut Conn, m: &ScopeMapping) -> StoreResult<()> {
    let sql = format!("INSERT INTO scope_mappings ({COLS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)");
    let q = bind_fields(sqlx::query(AssertSqlSafe(sql)).bind(&m.id), m);
    let q = q.bind(m.created_at).bind(m.updated_at).bind(m.version);
    rows::insert_object(conn, q, |_| m.name.clone()).await
}

/// Updates a scope mapping with an optimistic version check.
pub async fn update(conn: &mut Conn, m: &ScopeMapping) -> StoreResult<()> {
    let sql = "UPDATE scope_mappings SET name=$1, managed=$2, scope_name=$3, description=$4, \
         expression=$5, updated_at=$6, version=version+1 WHERE id=$7 AND version=$8";
    let q = bind_fields(sqlx::query(sql), m);
    let q = q.bind(m.updated_at).bind(&m.id).bind(m.version);
    rows::update_object(conn, q, &format!("scope mapping {}", m.name), |_| {
        m.name.clone()
    })
    .await
}

/// Deletes a scope mapping.
pub async fn delete(conn: &mut Conn, id: &str) -> StoreResult<()> {
    rows::delete_by_id(conn, "scope_mappings", id).await?;
    Ok(())
}
