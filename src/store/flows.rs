//! Flows and their stage bindings.

use super::Conn;
use sqlx::AssertSqlSafe;

use super::rows::{self, DomainRow, Query, TableRow, parse_enum};
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
    #[sqlx(try_from = "super::engine::Flag")]
    compatibility_mode: bool,
    background: String,
    created_at: i64,
    updated_at: i64,
    version: i64,
}

const FLOW_COLS: &str = "id, name, slug, title, designation, authentication, denied_action, \
    policy_engine_mode, layout, compatibility_mode, background, created_at, updated_at, version";

impl TableRow for FlowRow {
    const COLUMNS: &'static str = FLOW_COLS;
    const TABLE: &'static str = "flows";
}

impl DomainRow for FlowRow {
    type Domain = Flow;
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

/// Every flow, by slug.
pub async fn list(conn: &mut Conn) -> StoreResult<Vec<Flow>> {
    rows::select_all::<FlowRow>(conn, "ORDER BY slug", &[]).await
}

/// One flow by id.
pub async fn get(conn: &mut Conn, id: &str) -> StoreResult<Option<Flow>> {
    rows::select_one::<FlowRow>(conn, "WHERE id = $1", id).await
}

/// One flow by slug.
pub async fn get_by_slug(conn: &mut Conn, slug: &str) -> StoreResult<Option<Flow>> {
    rows::select_one::<FlowRow>(conn, "WHERE slug = $1", slug).await
}

/// Binds the columns an insert and an update both write, in [`FLOW_COLS`] order.
fn bind_fields<'q>(q: Query<'q>, f: &'q Flow) -> Query<'q> {
    q.bind(&f.name)
        .bind(&f.slug)
        .bind(&f.title)
        .bind(f.designation.as_str())
        .bind(f.authentication.as_str())
        .bind(f.denied_action.as_str())
        .bind(f.policy_engine_mode.as_str())
        .bind(f.layout.as_str())
        .bind(f.compatibility_mode)
        .bind(&f.background)
}

/// Inserts a new flow.
pub async fn insert(conn: &mut Conn, f: &Flow) -> StoreResult<()> {
    let sql = format!(
        "INSERT INTO flows ({FLOW_COLS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)"
    );
    let q = bind_fields(sqlx::query(AssertSqlSafe(sql)).bind(&f.id), f);
    let q = q.bind(f.created_at).bind(f.updated_at).bind(f.version);
    rows::insert_object(conn, q, |_| f.slug.clone()).await
}

/// Updates a flow if nobody saved it since `f.version` was read; bumps the version.
pub async fn update(conn: &mut Conn, f: &Flow) -> StoreResult<()> {
    let sql = "UPDATE flows SET name=$1, slug=$2, title=$3, designation=$4, authentication=$5, \
         denied_action=$6, policy_engine_mode=$7, layout=$8, compatibility_mode=$9, background=$10, \
         updated_at=$11, version=version+1 WHERE id=$12 AND version=$13";
    let q = bind_fields(sqlx::query(sql), f);
    let q = q.bind(f.updated_at).bind(&f.id).bind(f.version);
    rows::update_object(conn, q, &format!("flow {}", f.slug), |_| f.slug.clone()).await
}

/// Deletes a flow (its stage bindings and policy bindings go with it).
pub async fn delete(conn: &mut Conn, id: &str) -> StoreResult<()> {
    if rows::delete_by_id(conn, "flows", id).await? == 0 {
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
    #[sqlx(try_from = "super::engine::Flag")]
    evaluate_on_plan: bool,
    #[sqlx(try_from = "super::engine::Flag")]
    re_evaluate_policies: bool,
    invalid_response_action: String,
    policy_engine_mode: String,
    created_at: i64,
    updated_at: i64,
    version: i64,
}

const BINDING_COLS: &str = "id, flow_id, stage_id, sort_order, evaluate_on_plan, \
    re_evaluate_policies, invalid_response_action, policy_engine_mode, created_at, updated_at, version";

impl TableRow for BindingRow {
    const COLUMNS: &'static str = BINDING_COLS;
    const TABLE: &'static str = "flow_stage_bindings";
}

impl DomainRow for BindingRow {
    type Domain = FlowStageBinding;
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

/// The stage bindings of a flow, in order.
pub async fn bindings_of(conn: &mut Conn, flow_id: &str) -> StoreResult<Vec<FlowStageBinding>> {
    let tail = "WHERE flow_id = $1 ORDER BY sort_order, id";
    rows::select_all::<BindingRow>(conn, tail, &[flow_id]).await
}

/// Every stage binding.
pub async fn all_bindings(conn: &mut Conn) -> StoreResult<Vec<FlowStageBinding>> {
    rows::select_all::<BindingRow>(conn, "ORDER BY flow_id, sort_order, id", &[]).await
}

/// Binds the columns an insert and an update of a binding both write, in [`BINDING_COLS`] order.
fn bind_binding_fields<'q>(q: Query<'q>, b: &'q FlowStageBinding) -> Query<'q> {
    q.bind(&b.flow_id)
        .bind(&b.stage_id)
        .bind(b.order)
        .bind(b.evaluate_on_plan)
        .bind(b.re_evaluate_policies)
        .bind(b.invalid_response_action.as_str())
        .bind(b.policy_engine_mode.as_str())
}

/// Inserts a stage binding.
pub async fn insert_binding(conn: &mut Conn, b: &FlowStageBinding) -> StoreResult<()> {
    let sql = format!(
        "INSERT INTO flow_stage_bindings ({BINDING_COLS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)"
    );
    let q = bind_binding_fields(sqlx::query(AssertSqlSafe(sql)).bind(&b.id), b);
    let q = q.bind(b.created_at).bind(b.updated_at).bind(b.version);
    rows::insert_object(conn, q, |_| format!("order {}", b.order)).await
}

/// Updates a stage binding with an optimistic version check.
pub async fn update_binding(conn: &mut Conn, b: &FlowStageBinding) -> StoreResult<()> {
    let sql = "UPDATE flow_stage_bindings SET flow_id=$1, stage_id=$2, sort_order=$3, \
         evaluate_on_plan=$4, re_evaluate_policies=$5, invalid_response_action=$6, \
         policy_engine_mode=$7, updated_at=$8, version=version+1 WHERE id=$9 AND version=$10";
    let q = bind_binding_fields(sqlx::query(sql), b);
    let res = q
        .bind(b.updated_at)
        .bind(&b.id)
        .bind(b.version)
        .execute(conn)
        .await?;
    rows::check_updated(res.rows_affected(), "stage binding")
}

/// Deletes a stage binding.
pub async fn delete_binding(conn: &mut Conn, id: &str) -> StoreResult<()> {
    rows::delete_by_id(conn, "flow_stage_bindings", id).await?;
    Ok(())
}
