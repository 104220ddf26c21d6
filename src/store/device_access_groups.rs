//! Device access groups (authentik's `authentik_endpoints.deviceaccessgroup`).

use super::Conn;
use sqlx::AssertSqlSafe;

use super::StoreResult;
use super::rows::{self, DomainRow, Query, TableRow, json_or_empty, parse_json};
use crate::domain::DeviceAccessGroup;

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    name: String,
    attributes: String,
    created_at: i64,
    updated_at: i64,
    version: i64,
}

const COLS: &str = "id, name, attributes, created_at, updated_at, version";

impl TableRow for Row {
    const COLUMNS: &'static str = COLS;
    const TABLE: &'static str = "device_access_groups";
}

impl DomainRow for Row {
    type Domain = DeviceAccessGroup;
    fn into_domain(self) -> StoreResult<DeviceAccessGroup> {
        let what = format!("device access group {}", self.name);
        Ok(DeviceAccessGroup {
            attributes: parse_json(&what, &self.attributes)?,
            id: self.id,
            name: self.name,
            created_at: self.created_at,
            updated_at: self.updated_at,
            version: self.version,
        })
    }
}

/// Every device access group, by name.
pub async fn list(conn: &mut Conn) -> StoreResult<Vec<DeviceAccessGroup>> {
    rows::select_all::<Row>(conn, "ORDER BY name", &[]).await
}

fn bind_fields<'q>(q: Query<'q>, g: &'q DeviceAccessGroup) -> Query<'q> {
    q.bind(&g.name).bind(json_or_empty(&g.attributes))
}

/// Inserts a device access group.
pub async fn insert(conn: &mut Conn, g: &DeviceAccessGroup) -> StoreResult<()> {
    let sql = format!("INSERT INTO device_access_groups ({COLS}) VALUES ($1,$2,$3,$4,$5,$6)");
    let q = bind_fields(sqlx::query(AssertSqlSafe(sql)).bind(&g.id), g);
    let q = q.bind(g.created_at).bind(g.updated_at).bind(g.version);
    rows::insert_object(conn, q, |_| g.name.clone()).await
}

/// Updates a device access group with an optimistic version check.
pub async fn update(conn: &mut Conn, g: &DeviceAccessGroup) -> StoreResult<()> {
    let sql = "UPDATE device_access_groups SET name=$1, attributes=$2, updated_at=$3, \
               version=version+1 WHERE id=$4 AND version=$5";
    let q = bind_fields(sqlx::query(sql), g);
    let q = q.bind(g.updated_at).bind(&g.id).bind(g.version);
    let what = format!("device access group {}", g.name);
    rows::update_object(conn, q, &what, |_| g.name.clone()).await
}

/// Deletes a device access group (its policy bindings go with it; tokens keep no group).
pub async fn delete(conn: &mut Conn, id: &str) -> StoreResult<()> {
    sqlx::query("DELETE FROM policy_bindings WHERE target_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    rows::delete_by_id(conn, "device_access_groups", id).await?;
    Ok(())
}
