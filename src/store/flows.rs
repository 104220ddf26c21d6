//! Flows and their stage bindings.

use sqlx::{AssertSqlSafe, SqliteConnection};

use super::rows::{check_updated, parse_enum, with_value};
use super::{StoreError, StoreResult};
use crate::domain::{Flow, FlowStageBinding};

#[derive(sqlx::FromRow)]
struct FlowRow {
    id: String,
    name: String,
    slug: String,
    title: String,
    designation: String,
    authentication: String,
    denied_action: String,
    policy_engine_mode: String,
    layout: String,
    compatibility_mode: bool,
    background: String,
    created_at: i64,
    updated_at: i64,
    version: i64,
}

impl FlowRow {
    fn into_domain(self) -> StoreResult<Flow> {
        let what = format!("flow {}", self.slug);
        Ok(Flow {
            designation: parse_enum(&what, &self.designation)?,
            authentication: parse_enum(&what, &self.authentication)?,
            denied_action: parse_enum(&what, &self.denied_action)?,
            policy_engine_mode: parse_enum(&what, &self.policy_engine_mode)?,
            layout: parse_enum(&what, &self.layout)?,
            id: self.id,
            name: self.name,
            slug: self.slug,
            title: self.title,
            compatibility_mode: self.compatibility_mode,
            background: self.background,
            created_at: self.created_at,
            updated_at: self.updated_at,
            version: self.version,
        })
    }
}

const FLOW_COLS: &str = "id, name, slug, title, designation, authentication, denied_action, \
    policy_engine_mode, layout, compatibility_mode, background, created_at, updated_at, version";

/// Every flow, by slug.
pub async fn list(conn: &mut SqliteConnection) -> StoreResult<Vec<Flow>> {
    let rows: Vec<FlowRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {FLOW_COLS} FROM flows ORDER BY slug"
    )))
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(FlowRow::into_domain).collect()
}

/// One flow by id.
pub async fn get(conn: &mut SqliteConnection, id: &str) -> StoreResult<Option<Flow>> {
    let row: Option<FlowRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {FLOW_COLS} FROM flows WHERE id = ?"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.map(FlowRow::into_domain).transpose()
}

/// One flow by slug.
pub async fn get_by_slug(conn: &mut SqliteConnection, slug: &str) -> StoreResult<Option<Flow>> {
    let row: Option<FlowRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {FLOW_COLS} FROM flows WHERE slug = ?"
    )))
    .bind(slug)
    .fetch_optional(conn)
    .await?;
    row.map(FlowRow::into_domain).transpose()
}

/// Inserts a new flow.
pub async fn insert(conn: &mut SqliteConnection, f: &Flow) -> StoreResult<()> {
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO flows ({FLOW_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
    )))
    .bind(&f.id)
    .bind(&f.name)
    .bind(&f.slug)
    .bind(&f.title)
    .bind(f.designation.as_str())
    .bind(f.authentication.as_str())
    .bind(f.denied_action.as_str())
    .bind(f.policy_engine_mode.as_str())
    .bind(f.layout.as_str())
    .bind(f.compatibility_mode)
    .bind(&f.background)
    .bind(f.created_at)
    .bind(f.updated_at)
    .bind(f.version)
    .execute(conn)
    .await
    .map_err(|e| with_value(e.into(), |_| f.slug.clone()))?;
    Ok(())
}

/// Updates a flow if nobody saved it since `f.version` was read; bumps the version.
pub async fn update(conn: &mut SqliteConnection, f: &Flow) -> StoreResult<()> {
    let res = sqlx::query(
        "UPDATE flows SET name=?, slug=?, title=?, designation=?, authentication=?, \
         denied_action=?, policy_engine_mode=?, layout=?, compatibility_mode=?, background=?, \
         updated_at=?, version=version+1 WHERE id=? AND version=?",
    )
    .bind(&f.name)
    .bind(&f.slug)
    .bind(&f.title)
    .bind(f.designation.as_str())
    .bind(f.authentication.as_str())
    .bind(f.denied_action.as_str())
    .bind(f.policy_engine_mode.as_str())
    .bind(f.layout.as_str())
    .bind(f.compatibility_mode)
    .bind(&f.background)
    .bind(f.updated_at)
    .bind(&f.id)
    .bind(f.version)
    .execute(conn)
    .await
    .map_err(|e| with_value(e.into(), |_| f.slug.clone()))?;
    check_updated(res.rows_affected(), &format!("flow {}", f.slug))
}

/// Deletes a flow (its stage bindings and policy bindings go with it).
pub async fn delete(conn: &mut SqliteConnection, id: &str) -> StoreResult<()> {
    let res = sqlx::query("DELETE FROM flows WHERE id = ?")
        .bind(id)
        .execute(conn)
        .await?;
    if res.rows_affected() == 0 {
        return Err(StoreError::NotFound {
            what: "flow".into(),
        });
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct BindingRow {
    id: String,
    flow_id: String,
    stage_id: String,
    sort_order: i64,
    evaluate_on_plan: bool,
    re_evaluate_policies: bool,
    invalid_response_action: String,
    policy_engine_mode: String,
    created_at: i64,
    updated_at: i64,
    version: i64,
}

impl BindingRow {
    fn into_domain(self) -> StoreResult<FlowStageBinding> {
        let what = format!("stage binding {}", self.id);
        Ok(FlowStageBinding {
            invalid_response_action: parse_enum(&what, &self.invalid_response_action)?,
            policy_engine_mode: parse_enum(&what, &self.policy_engine_mode)?,
            id: self.id,
            flow_id: self.flow_id,
            stage_id: self.stage_id,
            order: self.sort_order,
            evaluate_on_plan: self.evaluate_on_plan,
            re_evaluate_policies: self.re_evaluate_policies,
            created_at: self.created_at,
            updated_at: self.updated_at,
            version: self.version,
        })
    }
}

const BINDING_COLS: &str = "id, flow_id, stage_id, sort_order, evaluate_on_plan, \
    re_evaluate_policies, invalid_response_action, policy_engine_mode, created_at, updated_at, version";

/// The stage bindings of a flow, in order.
pub async fn bindings_of(
    conn: &mut SqliteConnection,
    flow_id: &str,
) -> StoreResult<Vec<FlowStageBinding>> {
    let rows: Vec<BindingRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {BINDING_COLS} FROM flow_stage_bindings WHERE flow_id = ? ORDER BY sort_order, id"
    )))
    .bind(flow_id)
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(BindingRow::into_domain).collect()
}

/// Every stage binding.
pub async fn all_bindings(conn: &mut SqliteConnection) -> StoreResult<Vec<FlowStageBinding>> {
    let rows: Vec<BindingRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {BINDING_COLS} FROM flow_stage_bindings ORDER BY flow_id, sort_order, id"
    )))
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(BindingRow::into_domain).collect()
}

/// Inserts a stage binding.
pub async fn insert_binding(conn: &mut SqliteConnection, b: &FlowStageBinding) -> StoreResult<()> {
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO flow_stage_bindings ({BINDING_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
    )))
    .bind(&b.id)
    .bind(&b.flow_id)
    .bind(&b.stage_id)
    .bind(b.order)
    .bind(b.evaluate_on_plan)
    .bind(b.re_evaluate_policies)
    .bind(b.invalid_response_action.as_str())
    .bind(b.policy_engine_mode.as_str())
    .bind(b.created_at)
    .bind(b.updated_at)
    .bind(b.version)
    .execute(conn)
    .await
    .map_err(|e| with_value(e.into(), |_| format!("order {}", b.order)))?;
    Ok(())
}

/// Updates a stage binding with an optimistic version check.
pub async fn update_binding(conn: &mut SqliteConnection, b: &FlowStageBinding) -> StoreResult<()> {
    let res = sqlx::query(
        "UPDATE flow_stage_bindings SET flow_id=?, stage_id=?, sort_order=?, evaluate_on_plan=?, \
         re_evaluate_policies=?, invalid_response_action=?, policy_engine_mode=?, updated_at=?, \
         version=version+1 WHERE id=? AND version=?",
    )
    .bind(&b.flow_id)
    .bind(&b.stage_id)
    .bind(b.order)
    .bind(b.evaluate_on_plan)
    .bind(b.re_evaluate_policies)
    .bind(b.invalid_response_action.as_str())
    .bind(b.policy_engine_mode.as_str())
    .bind(b.updated_at)
    .bind(&b.id)
    .bind(b.version)
    .execute(conn)
    .await?;
    check_updated(res.rows_affected(), "stage binding")
}

/// Deletes a stage binding.
pub async fn delete_binding(conn: &mut SqliteConnection, id: &str) -> StoreResult<()> {
    sqlx::query("DELETE FROM flow_stage_bindings WHERE id = ?")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}
