//! Stages (kind + typed JSON settings) and prompt fields.

use sqlx::{AssertSqlSafe, SqliteConnection};

use super::StoreResult;
use super::rows::{check_updated, parse_enum, parse_json, with_value};
use crate::domain::{Prompt, Stage, StageSettings};

#[derive(sqlx::FromRow)]
struct StageRow {
    id: String,
    name: String,
    kind: String,
    settings: String,
    created_at: i64,
    updated_at: i64,
    version: i64,
}

impl StageRow {
    fn into_domain(self) -> StoreResult<Stage> {
        let what = format!("stage {}", self.name);
        Ok(Stage {
            settings: StageSettings::from_json(
                parse_enum(&what, &self.kind)?,
                &parse_json(&what, &self.settings)?,
            ),
            id: self.id,
            name: self.name,
            created_at: self.created_at,
            updated_at: self.updated_at,
            version: self.version,
        })
    }
}

const COLS: &str = "id, name, kind, settings, created_at, updated_at, version";

/// Every stage, by name.
pub async fn list(conn: &mut SqliteConnection) -> StoreResult<Vec<Stage>> {
    let rows: Vec<StageRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {COLS} FROM stages ORDER BY name"
    )))
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(StageRow::into_domain).collect()
}

/// One stage by id.
pub async fn get(conn: &mut SqliteConnection, id: &str) -> StoreResult<Option<Stage>> {
    let row: Option<StageRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {COLS} FROM stages WHERE id = ?"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.map(StageRow::into_domain).transpose()
}

/// One stage by name.
pub async fn get_by_name(conn: &mut SqliteConnection, name: &str) -> StoreResult<Option<Stage>> {
    let row: Option<StageRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {COLS} FROM stages WHERE name = ?"
    )))
    .bind(name)
    .fetch_optional(conn)
    .await?;
    row.map(StageRow::into_domain).transpose()
}

/// Inserts a stage.
pub async fn insert(conn: &mut SqliteConnection, s: &Stage) -> StoreResult<()> {
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO stages ({COLS}) VALUES (?,?,?,?,?,?,?)"
    )))
    .bind(&s.id)
    .bind(&s.name)
    .bind(s.kind().as_str())
    .bind(s.settings.to_json().to_string())
    .bind(s.created_at)
    .bind(s.updated_at)
    .bind(s.version)
    .execute(conn)
    .await
    .map_err(|e| with_value(e.into(), |_| s.name.clone()))?;
    Ok(())
}

/// Updates a stage with an optimistic version check.
pub async fn update(conn: &mut SqliteConnection, s: &Stage) -> StoreResult<()> {
    let res = sqlx::query(
        "UPDATE stages SET name=?, kind=?, settings=?, updated_at=?, version=version+1 \
         WHERE id=? AND version=?",
    )
    .bind(&s.name)
    .bind(s.kind().as_str())
    .bind(s.settings.to_json().to_string())
    .bind(s.updated_at)
    .bind(&s.id)
    .bind(s.version)
    .execute(conn)
    .await
    .map_err(|e| with_value(e.into(), |_| s.name.clone()))?;
    check_updated(res.rows_affected(), &format!("stage {}", s.name))
}

/// Deletes a stage (its bindings go with it).
pub async fn delete(conn: &mut SqliteConnection, id: &str) -> StoreResult<()> {
    sqlx::query("DELETE FROM stages WHERE id = ?")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct PromptRow {
    id: String,
    name: String,
    field_key: String,
    label: String,
    field_type: String,
    required: bool,
    placeholder: String,
    initial_value: String,
    sub_text: String,
    sort_order: i64,
    created_at: i64,
    updated_at: i64,
    version: i64,
}

impl From<PromptRow> for Prompt {
    fn from(r: PromptRow) -> Self {
        Prompt {
            id: r.id,
            name: r.name,
            field_key: r.field_key,
            label: r.label,
            field_type: r.field_type,
            required: r.required,
            placeholder: r.placeholder,
            initial_value: r.initial_value,
            sub_text: r.sub_text,
            order: r.sort_order,
            created_at: r.created_at,
            updated_at: r.updated_at,
            version: r.version,
        }
    }
}

const PROMPT_COLS: &str = "id, name, field_key, label, field_type, required, placeholder, \
    initial_value, sub_text, sort_order, created_at, updated_at, version";

/// Every prompt field, by order.
pub async fn list_prompts(conn: &mut SqliteConnection) -> StoreResult<Vec<Prompt>> {
    let rows: Vec<PromptRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {PROMPT_COLS} FROM prompts ORDER BY sort_order, name"
    )))
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(Prompt::from).collect())
}

/// Inserts a prompt field.
pub async fn insert_prompt(conn: &mut SqliteConnection, p: &Prompt) -> StoreResult<()> {
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO prompts ({PROMPT_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"
    )))
    .bind(&p.id)
    .bind(&p.name)
    .bind(&p.field_key)
    .bind(&p.label)
    .bind(&p.field_type)
    .bind(p.required)
    .bind(&p.placeholder)
    .bind(&p.initial_value)
    .bind(&p.sub_text)
    .bind(p.order)
    .bind(p.created_at)
    .bind(p.updated_at)
    .bind(p.version)
    .execute(conn)
    .await
    .map_err(|e| with_value(e.into(), |_| p.name.clone()))?;
    Ok(())
}

/// Updates a prompt field with an optimistic version check.
pub async fn update_prompt(conn: &mut SqliteConnection, p: &Prompt) -> StoreResult<()> {
    let res = sqlx::query(
        "UPDATE prompts SET name=?, field_key=?, label=?, field_type=?, required=?, placeholder=?, \
         initial_value=?, sub_text=?, sort_order=?, updated_at=?, version=version+1 \
         WHERE id=? AND version=?",
    )
    .bind(&p.name)
    .bind(&p.field_key)
    .bind(&p.label)
    .bind(&p.field_type)
    .bind(p.required)
    .bind(&p.placeholder)
    .bind(&p.initial_value)
    .bind(&p.sub_text)
    .bind(p.order)
    .bind(p.updated_at)
    .bind(&p.id)
    .bind(p.version)
    .execute(conn)
    .await
    .map_err(|e| with_value(e.into(), |_| p.name.clone()))?;
    check_updated(res.rows_affected(), &format!("prompt {}", p.name))
}

/// Deletes a prompt field.
pub async fn delete_prompt(conn: &mut SqliteConnection, id: &str) -> StoreResult<()> {
    sqlx::query("DELETE FROM prompts WHERE id = ?")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}
