//! Policies and policy bindings.

use super::Conn;
use sqlx::AssertSqlSafe;

use super::rows::{self, DomainRow, Query, TableRow, parse_enum, parse_json};
use super::{StoreError, StoreResult};
use crate::domain::{BindingSubject, Policy, PolicyBinding, PolicySettings};

#[derive(sqlx::FromRow)]
struct PolicyRow {
    id: String,
    name: String,
    kind: String,
    settings: String,
    #[sqlx(try_from = "super::engine::Flag")]
    execution_logging: bool,
    created_at: i64,
    updated_at: i64,
    version: i64,
}

const COLS: &str = "id, name, kind, settings, execution_logging, created_at, updated_at, version";

impl TableRow for PolicyRow {
    const COLUMNS: &'static str = COLS;
    const TABLE: &'static str = "policies";
}

impl DomainRow for PolicyRow {
    type Domain = Policy;
    fn into_domain(self) -> StoreResult<Policy> {
        let what = format!("policy {}", self.name);
        Ok(Policy {
            settings: PolicySettings::from_json(
                parse_enum(&what, &self.kind)?,
                &parse_json(&what, &self.settings)?,
            ),
            id: self.id,
            name: self.name,
            execution_logging: self.execution_logging,
            created_at: self.created_at,
            updated_at: self.updated_at,
            version: self.version,
        })
    }
}

/// Every policy, by name.
pub async fn list(conn: &mut Conn) -> StoreResult<Vec<Policy>> {
    rows::select_all::<PolicyRow>(conn, "ORDER BY name", &[]).await
}

/// One policy by id.
pub async fn get(conn: &mut Conn, id: &str) -> StoreResult<Option<Policy>> {
    rows::select_one::<PolicyRow>(conn, "WHERE id = $1", id).await
}

/// One policy by name.
pub async fn get_by_name(conn: &mut Conn, name: &str) -> StoreResult<Option<Policy>> {
    rows::select_one::<PolicyRow>(conn, "WHERE name = $1", name).await
}

/// Binds the columns an insert and an update both write, in [`COLS`] order.
fn bind_fields<'q>(q: Query<'q>, p: &'q Policy) -> Query<'q> {
    q.bind(&p.name)
        .bind(p.kind().as_str())
        .bind(p.settings.to_json().to_string())
        .bind(p.execution_logging)
}

/// Inserts a policy.
pub async fn insert(conn: &mut Conn, p: &Policy) -> StoreResult<()> {
    let sql = format!("INSERT INTO policies ({COLS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)");
    let q = bind_fields(sqlx::query(AssertSqlSafe(sql)).bind(&p.id), p);
    let q = q.bind(p.created_at).bind(p.updated_at).bind(p.version);
    rows::insert_object(conn, q, |_| p.name.clone()).await
}

/// Updates a policy with an optimistic version check.
pub async fn update(conn: &mut Conn, p: &Policy) -> StoreResult<()> {
    let sql = "UPDATE policies SET name=$1, kind=$2, settings=$3, execution_logging=$4, updated_at=$5, \
         version=version+1 WHERE id=$6 AND version=$7";
    let q = bind_fields(sqlx::query(sql), p);
    let q = q.bind(p.updated_at).bind(&p.id).bind(p.version);
    rows::update_object(conn, q, &format!("policy {}", p.name), |_| p.name.clone()).await
}

/// Deletes a policy (its bindings go with it).
pub async fn delete(conn: &mut Conn, id: &str) -> StoreResult<()> {
    rows::delete_by_id(conn, "policies", id).await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct BindingRow {
    id: String,
    target_id: String,
    policy_id: Option<String>,
    group_id: Option<String>,
    user_id: Option<String>,
    sort_order: i64,
    #[sqlx(try_from = "super::engine::Flag")]
    enabled: bool,
    #[sqlx(try_from = "super::engine::Flag")]
    negate: bool,
    timeout: i64,
    #[sqlx(try_from = "super::engine::Flag")]
    failure_result: bool,
    created_at: i64,
    updated_at: i64,
    version: i64,
}

const BINDING_COLS: &str = "id, target_id, policy_id, group_id, user_id, sort_order, enabled, \
    negate, timeout, failure_result, created_at, updated_at, version";

impl TableRow for BindingRow {
    const COLUMNS: &'static str = BINDING_COLS;
    const TABLE: &'static str = "policy_bindings";
}

impl DomainRow for BindingRow {
    type Domain = PolicyBinding;
    fn into_domain(self) -> StoreResult<PolicyBinding> {
        let subject = match (self.policy_id, self.group_id, self.user_id) {
            (Some(p), None, None) => BindingSubject::Policy(p),
            (None, Some(g), None) => BindingSubject::Group(g),
            (None, None, Some(u)) => BindingSubject::User(u),
            _ => {
                return Err(StoreError::Corrupt {
                    what: format!("policy binding {}", self.id),
                    reason: "exactly one of policy, group, user must be set".into(),
                });
            }
        };
        Ok(PolicyBinding {
            id: self.id,
            target_id: self.target_id,
            subject,
            order: self.sort_order,
            enabled: self.enabled,
            negate: self.negate,
            timeout: self.timeout,
            failure_result: self.failure_result,
            created_at: self.created_at,
            updated_at: self.updated_at,
            version: self.version,
        })
    }
}

/// The bindings on one target (flow, stage binding or application), in order.
pub async fn bindings_of(conn: &mut Conn, target_id: &str) -> StoreResult<Vec<PolicyBinding>> {
    let tail = "WHERE target_id = $1 ORDER BY sort_order, id";
    rows::select_all::<BindingRow>(conn, tail, &[target_id]).await
}

/// Every policy binding.
pub async fn all_bindings(conn: &mut Conn) -> StoreResult<Vec<PolicyBinding>> {
    rows::select_all::<BindingRow>(conn, "ORDER BY target_id, sort_order, id", &[]).await
}

fn subject_columns(s: &BindingSubject) -> (Option<&str>, Option<&str>, Option<&str>) {
    match s {
        BindingSubject::Policy(id) => (Some(id), None, None),
        BindingSubject::Group(id) => (None, Some(id), None),
        BindingSubject::User(id) => (None, None, Some(id)),
    }
}

/// Binds the columns an insert and an update of a binding both write, in [`BINDING_COLS`] order.
fn bind_binding_fields<'q>(q: Query<'q>, b: &'q PolicyBinding) -> Query<'q> {
    let (p, g, u) = subject_columns(&b.subject);
    q.bind(&b.target_id)
        .bind(p)
        .bind(g)
        .bind(u)
        .bind(b.order)
        .bind(b.enabled)
        .bind(b.negate)
        .bind(b.timeout)
        .bind(b.failure_result)
}

/// Inserts a policy binding.
pub async fn insert_binding(conn: &mut Conn, b: &PolicyBinding) -> StoreResult<()> {
    let sql = format!(
        "INSERT INTO policy_bindings ({BINDING_COLS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)"
    );
    let q = bind_binding_fields(sqlx::query(AssertSqlSafe(sql)).bind(&b.id), b);
    q.bind(b.created_at)
        .bind(b.updated_at)
        .bind(b.version)
        .execute(conn)
        .await?;
    Ok(())
}

/// Updates a policy binding with an optimistic version check.
pub async fn update_binding(conn: &mut Conn, b: &PolicyBinding) -> StoreResult<()> {
    let sql = "UPDATE policy_bindings SET target_id=$1, policy_id=$2, group_id=$3, user_id=$4, \
         sort_order=$5, enabled=$6, negate=$7, timeout=$8, failure_result=$9, updated_at=$10, \
         version=version+1 WHERE id=$11 AND version=$12";
    let q = bind_binding_fields(sqlx::query(sql), b);
    let res = q
        .bind(b.updated_at)
        .bind(&b.id)
        .bind(b.version)
        .execute(conn)
        .await?;
    rows::check_updated(res.rows_affected(), "policy binding")
}

/// Deletes a policy binding.
pub async fn delete_binding(conn: &mut Conn, id: &str) -> StoreResult<()> {
    rows::delete_by_id(conn, "policy_bindings", id).await?;
    Ok(())
}
