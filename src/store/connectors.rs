//! Endpoint connectors (the authentik Agent).

use super::Conn;
use sqlx::AssertSqlSafe;

use super::StoreResult;
use super::rows::{self, DomainRow, Query, TableRow, parse_enum, parse_json};
use crate::domain::{Connector, ConnectorSettings};

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    name: String,
    kind: String,
    #[sqlx(try_from = "super::engine::Flag")]
    enabled: bool,
    authorization_flow_id: Option<String>,
    challenge_key_id: Option<String>,
    settings: String,
    created_at: i64,
    updated_at: i64,
    version: i64,
}

const COLS: &str = "id, name, kind, enabled, authorization_flow_id, challenge_key_id, settings, \
    created_at, updated_at, version";

impl TableRow for Row {
    const COLUMNS: &'static str = COLS;
    const TABLE: &'static str = "connectors";
}

impl DomainRow for Row {
    type Domain = Connector;
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

/// Every connector, by name.
pub async fn list(conn: &mut Conn) -> StoreResult<Vec<Connector>> {
    rows::select_all::<Row>(conn, "ORDER BY name", &[]).await
}

/// The connector with `id`.
pub async fn by_id(conn: &mut Conn, id: &str) -> StoreResult<Option<Connector>> {
    rows::select_one::<Row>(conn, "WHERE id = $1", id).await
}

/// Binds the columns an insert and an update both write, in [`COLS`] order.
fn bind_fields<'q>(q: Query<'q>, c: &'q Connector) -> Query<'q> {
    q.bind(&c.name)
        .bind(c.kind().as_str())
        .bind(c.enabled)
        .bind(&c.authorization_flow_id)
        .bind(&c.challenge_key_id)
        .bind(c.settings.to_json().to_string())
}

/// Inserts a connector.
pub async fn insert(conn: &mut Conn, c: &Connector) -> StoreResult<()> {
    let sql = format!("INSERT INTO connectors ({COLS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)");
    let q = bind_fields(sqlx::query(AssertSqlSafe(sql)).bind(&c.id), c);
    let q = q.bind(c.created_at).bind(c.updated_at).bind(c.version);
    rows::insert_object(conn, q, |_| c.name.clone()).await
}

/// Updates a connector with an optimistic version check.
pub async fn update(conn: &mut Conn, c: &Connector) -> StoreResult<()> {
    let sql = "UPDATE connectors SET name=$1, kind=$2, enabled=$3, authorization_flow_id=$4, \
         challenge_key_id=$5, settings=$6, updated_at=$7, version=version+1 WHERE id=$8 AND version=$9";
    let q = bind_fields(sqlx::query(sql), c);
    let q = q.bind(c.updated_at).bind(&c.id).bind(c.version);
    rows::update_object(conn, q, &format!("connector {}", c.name), |_| {
        c.name.clone()
    })
    .await
}

/// Deletes a connector.
pub async fn delete(conn: &mut Conn, id: &str) -> StoreResult<()> {
    rows::delete_by_id(conn, "connectors", id).await?;
    Ok(())
}
