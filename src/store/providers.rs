//! OAuth2 providers and their scope mappings.

use super::Conn;
use sqlx::AssertSqlSafe;

use super::StoreResult;
use super::rows::{self, Query, TableRow, parse_json, to_json};
use crate::domain::Provider;

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    name: String,
    client_id: Option<String>,
    authorization_flow_id: Option<String>,
    authentication_flow_id: Option<String>,
    invalidation_flow_id: Option<String>,
    signing_key_id: Option<String>,
    encryption_key_id: Option<String>,
    settings: String,
    created_at: i64,
    updated_at: i64,
    version: i64,
}

const COLS: &str = "id, name, client_id, authorization_flow_id, authentication_flow_id, \
    invalidation_flow_id, signing_key_id, encryption_key_id, settings, created_at, updated_at, version";

impl TableRow for Row {
    const COLUMNS: &'static str = COLS;
    const TABLE: &'static str = "providers";
}

async fn into_domain(conn: &mut Conn, r: Row) -> StoreResult<Provider> {
    let scope_mapping_ids: Vec<String> = sqlx::query_scalar(
        "SELECT psm.mapping_id FROM provider_scope_mappings psm \
         JOIN scope_mappings sm ON sm.id = psm.mapping_id \
         WHERE psm.provider_id = $1 ORDER BY sm.scope_name",
    )
    .bind(&r.id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(Provider {
        oauth2: parse_json(&format!("provider {}", r.name), &r.settings)?,
        id: r.id,
        name: r.name,
        client_id: r.client_id.unwrap_or_default(),
        authorization_flow_id: r.authorization_flow_id,
        authentication_flow_id: r.authentication_flow_id,
        invalidation_flow_id: r.invalidation_flow_id,
        signing_key_id: r.signing_key_id,
        encryption_key_id: r.encryption_key_id,
        scope_mapping_ids,
        created_at: r.created_at,
        updated_at: r.updated_at,
        version: r.version,
    })
}

/// Every provider, by name.
pub async fn list(conn: &mut Conn) -> StoreResult<Vec<Provider>> {
    let rows = rows::select_rows::<Row>(conn, "ORDER BY name", &[]).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push(into_domain(conn, r).await?);
    }
    Ok(out)
}

/// The provider `tail` (`WHERE column = ?`) picks with `key`, with its scope mappings.
async fn one_where(conn: &mut Conn, tail: &str, key: &str) -> StoreResult<Option<Provider>> {
    match rows::select_row::<Row>(conn, tail, key).await? {
        Some(r) => Ok(Some(into_domain(conn, r).await?)),
        None => Ok(None),
    }
}

/// One provider by id.
pub async fn get(conn: &mut Conn, id: &str) -> StoreResult<Option<Provider>> {
    one_where(conn, "WHERE id = $1", id).await
}

/// One provider by name.
pub async fn get_by_name(conn: &mut Conn, name: &str) -> StoreResult<Option<Provider>> {
    one_where(conn, "WHERE name = $1", name).await
}

async fn set_mappings(conn: &mut Conn, p: &Provider) -> StoreResult<()> {
    sqlx::query("DELETE FROM provider_scope_mappings WHERE provider_id = $1")
        .bind(&p.id)
        .execute(&mut *conn)
        .await?;
    for m in &p.scope_mapping_ids {
        // A set: a mapping listed twice is stored once.
        sqlx::query(
            "INSERT INTO provider_scope_mappings (provider_id, mapping_id) VALUES ($1, $2) \
             ON CONFLICT DO NOTHING",
        )
        .bind(&p.id)
        .bind(m)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

fn dup_value(p: &Provider, field: &str) -> String {
    if field == "client_id" {
        p.client_id.clone()
    } else {
        p.name.clone()
    }
}

/// Binds the columns an insert and an update both write, in [`COLS`] order.
fn bind_fields<'q>(q: Query<'q>, p: &'q Provider) -> Query<'q> {
    q.bind(&p.name)
        .bind(&p.client_id)
        .bind(&p.authorization_flow_id)
        .bind(&p.authentication_flow_id)
        .bind(&p.invalidation_flow_id)
        .bind(&p.signing_key_id)
        .bind(&p.encryption_key_id)
        .bind(to_json(&p.oauth2))
}

/// Inserts a provider with its scope mappings.
pub async fn insert(conn: &mut Conn, p: &Provider) -> StoreResult<()> {
    let sql =
        format!("INSERT INTO providers ({COLS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)");
    let q = bind_fields(sqlx::query(AssertSqlSafe(sql)).bind(&p.id), p);
    let q = q.bind(p.created_at).bind(p.updated_at).bind(p.version);
    rows::insert_object(conn, q, |f| dup_value(p, f)).await?;
    set_mappings(conn, p).await
}

/// Updates a provider with an optimistic version check, replacing its scope mappings.
pub async fn update(conn: &mut Conn, p: &Provider) -> StoreResult<()> {
    let sql = "UPDATE providers SET name=$1, client_id=$2, authorization_flow_id=$3, \
         authentication_flow_id=$4, invalidation_flow_id=$5, signing_key_id=$6, encryption_key_id=$7, \
         settings=$8, updated_at=$9, version=version+1 WHERE id=$10 AND version=$11";
    let q = bind_fields(sqlx::query(sql), p);
    let q = q.bind(p.updated_at).bind(&p.id).bind(p.version);
    let what = format!("provider {}", p.name);
    rows::update_object(conn, q, &what, |f| dup_value(p, f)).await?;
    set_mappings(conn, p).await
}

/// Deletes a provider (the application's reference is cleared).
pub async fn delete(conn: &mut Conn, id: &str) -> StoreResult<()> {
    rows::delete_by_id(conn, "providers", id).await?;
    Ok(())
}

/// A signing key a provider used before, and when it stopped.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RetiredKey {
    pub provider_id: String,
    pub keypair_id: String,
    pub retired_at: i64,
}

/// Every retired signing key (JWKS keeps publishing them for a while).
pub async fn retired_keys(conn: &mut Conn) -> StoreResult<Vec<RetiredKey>> {
    Ok(sqlx::query_as(
        "SELECT provider_id, keypair_id, retired_at FROM provider_retired_keys \
         ORDER BY retired_at DESC",
    )
    .fetch_all(conn)
    .await?)
}
