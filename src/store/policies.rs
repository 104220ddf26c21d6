//! Policies and policy bindings.

use sqlx::{AssertSqlSafe, SqliteConnection};

use super::rows::{check_updated, parse_enum, parse_json, with_value};
use super::{StoreError, StoreResult};
use crate::domain::{BindingSubject, Policy, PolicyBinding, PolicySettings};

#[derive(sqlx::FromRow)]
struct PolicyRow {
    id: String,
    name: String,
    kind: String,
    settings: String,
    execution_logging: bool,
    created_at: i64,
    updated_at: i64,
    version: i64,
}

impl PolicyRow {
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

const COLS: &str = "id, name, kind, settings, execution_logging, created_at, updated_at, version";

/// Every policy, by name.
pub async fn list(conn: &mut SqliteConnection) -> StoreResult<Vec<Policy>> {
    let rows: Vec<PolicyRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {COLS} FROM policies ORDER BY name"
    )))
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(PolicyRow::into_domain).collect()
}

/// One policy by id.
pub async fn get(conn: &mut SqliteConnection, id: &str) -> StoreResult<Option<Policy>> {
    let row: Option<PolicyRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {COLS} FROM policies WHERE id = ?"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.map(PolicyRow::into_domain).transpose()
}

/// One policy by name.
pub async fn get_by_name(conn: &mut SqliteConnection, name: &str) -> StoreResult<Option<Policy>> {
    let row: Option<PolicyRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {COLS} FROM policies WHERE name = ?"
    )))
    .bind(name)
    .fetch_optional(conn)
    .await?;
    row.map(PolicyRow::into_domain).transpose()
}

/// Inserts a policy.
pub async fn insert(conn: &mut SqliteConnection, p: &Policy) -> StoreResult<()> {
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO policies ({COLS}) VALUES (?,?,?,?,?,?,?,?)"
    )))
    .bind(&p.id)
    .bind(&p.name)
    .bind(p.kind().as_str())
    .bind(p.settings.to_json().to_string())
    .bind(p.execution_logging)
    .bind(p.created_at)
    .bind(p.updated_at)
    .bind(p.version)
    .execute(conn)
    .await
    .map_err(|e| with_value(e.into(), |_| p.name.clone()))?;
    Ok(())
}

/// Updates a policy with an optimistic version check.
pub async fn update(conn: &mut SqliteConnection, p: &Policy) -> StoreResult<()> {
    let res = sqlx::query(
        "UPDATE policies SET name=?, kind=?, settings=?, execution_logging=?, updated_at=?, \
         version=version+1 WHERE id=? AND version=?",
    )
    .bind(&p.name)
    .bind(p.kind().as_str())
    .bind(p.settings.to_json().to_string())
    .bind(p.execution_logging)
    .bind(p.updated_at)
    .bind(&p.id)
    .bind(p.version)
    .execute(conn)
    .await
    .map_err(|e| with_value(e.into(), |_| p.name.clone()))?;
    check_updated(res.rows_affected(), &format!("policy {}", p.name))
}

/// Deletes a policy (its bindings go with it).
pub async fn delete(conn: &mut SqliteConnection, id: &str) -> StoreResult<()> {
    sqlx::query("DELETE FROM policies WHERE id = ?")
        .bind(id)
        .execute(conn)
        .await?;
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
    enabled: bool,
    negate: bool,
    timeout: i64,
    failure_result: bool,
    created_at: i64,
    updated_at: i64,
    version: i64,
}

impl BindingRow {
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

const BINDING_COLS: &str = "id, target_id, policy_id, group_id, user_id, sort_order, enabled, \
    negate, timeout, failure_result, created_at, updated_at, version";

/// The bindings on one target (flow, stage binding or application), in order.
pub async fn bindings_of(
    conn: &mut SqliteConnection,
    target_id: &str,
) -> StoreResult<Vec<PolicyBinding>> {
    let rows: Vec<BindingRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {BINDING_COLS} FROM policy_bindings WHERE target_id = ? ORDER BY sort_order, id"
    )))
    .bind(target_id)
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(BindingRow::into_domain).collect()
}

/// Every policy binding.
pub async fn all_bindings(conn: &mut SqliteConnection) -> StoreResult<Vec<PolicyBinding>> {
    let rows: Vec<BindingRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {BINDING_COLS} FROM policy_bindings ORDER BY target_id, sort_order, id"
    )))
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(BindingRow::into_domain).collect()
}

fn subject_columns(s: &BindingSubject) -> (Option<&str>, Option<&str>, Option<&str>) {
    match s {
        BindingSubject::Policy(id) => (Some(id), None, None),
        BindingSubject::Group(id) => (None, Some(id), None),
        BindingSubject::User(id) => (None, None, Some(id)),
    }
}

/// Inserts a policy binding.
pub async fn insert_binding(conn: &mut SqliteConnection, b: &PolicyBinding) -> StoreResult<()> {
    let (p, g, u) = subject_columns(&b.subject);
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO policy_bindings ({BINDING_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"
    )))
    .bind(&b.id)
    .bind(&b.target_id)
    .bind(p)
    .bind(g)
    .bind(u)
    .bind(b.order)
    .bind(b.enabled)
    .bind(b.negate)
    .bind(b.timeout)
    .bind(b.failure_result)
    .bind(b.created_at)
    .bind(b.updated_at)
    .bind(b.version)
    .execute(conn)
    .await?;
    Ok(())
}

/// Updates a policy binding with an optimistic version check.
pub async fn update_binding(conn: &mut SqliteConnection, b: &PolicyBinding) -> StoreResult<()> {
    let (p, g, u) = subject_columns(&b.subject);
    let res = sqlx::query(
        "UPDATE policy_bindings SET target_id=?, policy_id=?, group_id=?, user_id=?, sort_order=?, \
         enabled=?, negate=?, timeout=?, failure_result=?, updated_at=?, version=version+1 \
         WHERE id=? AND version=?",
    )
    .bind(&b.target_id)
    .bind(p)
    .bind(g)
    .bind(u)
    .bind(b.order)
    .bind(b.enabled)
    .bind(b.negate)
    .bind(b.timeout)
    .bind(b.failure_result)
    .bind(b.updated_at)
    .bind(&b.id)
    .bind(b.version)
    .execute(conn)
    .await?;
    check_updated(res.rows_affected(), "policy binding")
}

/// Deletes a policy binding.
pub async fn delete_binding(conn: &mut SqliteConnection, id: &str) -> StoreResult<()> {
    sqlx::query("DELETE FROM policy_bindings WHERE id = ?")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}
