//! OAuth2 scope mappings.

use sqlx::{AssertSqlSafe, SqliteConnection};

use super::StoreResult;
use super::rows::{check_updated, with_value};
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

impl From<Row> for ScopeMapping {
    fn from(r: Row) -> Self {
        ScopeMapping {
            id: r.id,
            name: r.name,
            managed: r.managed,
            scope_name: r.scope_name,
            description: r.description,
            expression: r.expression,
            created_at: r.created_at,
            updated_at: r.updated_at,
            version: r.version,
        }
    }
}

const COLS: &str =
    "id, name, managed, scope_name, description, expression, created_at, updated_at, version";

/// Every scope mapping, by scope name.
pub async fn list(conn: &mut SqliteConnection) -> StoreResult<Vec<ScopeMapping>> {
    let rows: Vec<Row> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {COLS} FROM scope_mappings ORDER BY scope_name, name"
    )))
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(ScopeMapping::from).collect())
}

/// One scope mapping by its managed id (authentik's `goauthentik.io/providers/oauth2/scope-*`).
pub async fn get_by_managed(
    conn: &mut SqliteConnection,
    managed: &str,
) -> StoreResult<Option<ScopeMapping>> {
    let row: Option<Row> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {COLS} FROM scope_mappings WHERE managed = ?"
    )))
    .bind(managed)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(ScopeMapping::from))
}

/// Inserts a scope mapping.
pub async fn insert(conn: &mut SqliteConnection, m: &ScopeMapping) -> StoreResult<()> {
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO scope_mappings ({COLS}) VALUES (?,?,?,?,?,?,?,?,?)"
    )))
    .bind(&m.id)
    .bind(&m.name)
    .bind(&m.managed)
    .bind(&m.scope_name)
    .bind(&m.description)
    .bind(&m.expression)
    .bind(m.created_at)
    .bind(m.updated_at)
    .bind(m.version)
    .execute(conn)
    .await
    .map_err(|e| with_value(e.into(), |_| m.name.clone()))?;
    Ok(())
}

/// Updates a scope mapping with an optimistic version check.
pub async fn update(conn: &mut SqliteConnection, m: &ScopeMapping) -> StoreResult<()> {
    let res = sqlx::query(
        "UPDATE scope_mappings SET name=?, managed=?, scope_name=?, description=?, expression=?, \
         updated_at=?, version=version+1 WHERE id=? AND version=?",
    )
    .bind(&m.name)
    .bind(&m.managed)
    .bind(&m.scope_name)
    .bind(&m.description)
    .bind(&m.expression)
    .bind(m.updated_at)
    .bind(&m.id)
    .bind(m.version)
    .execute(conn)
    .await
    .map_err(|e| with_value(e.into(), |_| m.name.clone()))?;
    check_updated(res.rows_affected(), &format!("scope mapping {}", m.name))
}

/// Deletes a scope mapping.
pub async fn delete(conn: &mut SqliteConnection, id: &str) -> StoreResult<()> {
    sqlx::query("DELETE FROM scope_mappings WHERE id = ?")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}
