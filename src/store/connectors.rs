//! Endpoint connectors (the authentik Agent).

use sqlx::{AssertSqlSafe, SqliteConnection};

use super::StoreResult;
use super::rows::{check_updated, parse_enum, parse_json, with_value};
use crate::domain::{Connector, ConnectorSettings};

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    name: String,
    kind: String,
    enabled: bool,
    authorization_flow_id: Option<String>,
    challenge_key_id: Option<String>,
    settings: String,
    created_at: i64,
    updated_at: i64,
    version: i64,
}

impl Row {
    fn into_domain(self) -> StoreResult<Connector> {
        let what = format!("connector {}", self.name);
        Ok(Connector {
            settings: ConnectorSettings::from_json(
                parse_enum(&what, &self.kind)?,
                &parse_json(&what, &self.settings)?,
            ),
            id: self.id,
            name: self.name,
            enabled: self.enabled,
            authorization_flow_id: self.authorization_flow_id,
            challenge_key_id: self.challenge_key_id,
            created_at: self.created_at,
            updated_at: self.updated_at,
            version: self.version,
        })
    }
}

const COLS: &str = "id, name, kind, enabled, authorization_flow_id, challenge_key_id, settings, \
    created_at, updated_at, version";

/// Every connector, by name.
pub async fn list(conn: &mut SqliteConnection) -> StoreResult<Vec<Connector>> {
    let rows: Vec<Row> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {COLS} FROM connectors ORDER BY name"
    )))
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(Row::into_domain).collect()
}

/// Inserts a connector.
pub async fn insert(conn: &mut SqliteConnection, c: &Connector) -> StoreResult<()> {
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO connectors ({COLS}) VALUES (?,?,?,?,?,?,?,?,?,?)"
    )))
    .bind(&c.id)
    .bind(&c.name)
    .bind(c.kind().as_str())
    .bind(c.enabled)
    .bind(&c.authorization_flow_id)
    .bind(&c.challenge_key_id)
    .bind(c.settings.to_json().to_string())
    .bind(c.created_at)
    .bind(c.updated_at)
    .bind(c.version)
    .execute(conn)
    .await
    .map_err(|e| with_value(e.into(), |_| c.name.clone()))?;
    Ok(())
}

/// Updates a connector with an optimistic version check.
pub async fn update(conn: &mut SqliteConnection, c: &Connector) -> StoreResult<()> {
    let res = sqlx::query(
        "UPDATE connectors SET name=?, kind=?, enabled=?, authorization_flow_id=?, \
         challenge_key_id=?, settings=?, updated_at=?, version=version+1 WHERE id=? AND version=?",
    )
    .bind(&c.name)
    .bind(c.kind().as_str())
    .bind(c.enabled)
    .bind(&c.authorization_flow_id)
    .bind(&c.challenge_key_id)
    .bind(c.settings.to_json().to_string())
    .bind(c.updated_at)
    .bind(&c.id)
    .bind(c.version)
    .execute(conn)
    .await
    .map_err(|e| with_value(e.into(), |_| c.name.clone()))?;
    check_updated(res.rows_affected(), &format!("connector {}", c.name))
}

/// Deletes a connector.
pub async fn delete(conn: &mut SqliteConnection, id: &str) -> StoreResult<()> {
    sqlx::query("DELETE FROM connectors WHERE id = ?")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}
