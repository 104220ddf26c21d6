//! Stages (kind + typed JSON settings) and prompt fields.

use super::Conn;
use sqlx::AssertSqlSafe;

use super::StoreResult;
use super::rows::{self, DomainRow, Query, TableRow, parse_enum, parse_json};
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

const COLS: &str = "id, name, kind, settings, created_at, updated_at, version";

impl TableRow for StageRow {
    const COLUMNS: &'static str = COLS;
    const TABLE: &'static str = "stages";
}

impl DomainRow for StageRow {
    type Domain = Stage;
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

/// Every stage, by name.
pub async fn list(conn: &mut Conn) -> StoreResult<Vec<Stage>> {
    rows::select_all::<StageRow>(conn, "ORDER BY name", &[]).await
}

/// One stage by id.
pub async fn get(conn: &mut Conn, id: &str) -> StoreResult<Option<Stage>> {
    rows::select_one::<StageRow>(conn, "WHERE id = $1", id).await
}

/// One stage by name.
pub async fn get_by_name(conn: &mut Conn, name: &str) -> StoreResult<Option<Stage>> {
    rows::select_one::<StageRow>(conn, "WHERE name = $1", name).await
}

/// Binds the columns an insert and an update both write, in [`COLS`] order.
fn bind_fields<'q>(q: Query<'q>, s: &'q Stage) -> Query<'q> {
    q.bind(&s.name)
        .bind(s.kind().as_str())
        .bind(s.settings.to_json().to_string())
}

/// Inserts a stage.
pub async fn insert(conn: &mut Conn, s: &Stage) -> StoreResult<()> {
    let sql = format!("INSERT INTO stages ({COLS}) VALUES ($1,$2,$3,$4,$5,$6,$7)");
    let q = bind_fields(sqlx::query(AssertSqlSafe(sql)).bind(&s.id), s);
    let q = q.bind(s.created_at).bind(s.updated_at).bind(s.version);
    rows::insert_object(conn, q, |_| s.name.clone()).await
}

/// Updates a stage with an optimistic version check.
pub async fn update(conn: &mut Conn, s: &Stage) -> StoreResult<()> {
    let sql = "UPDATE stages SET name=$1, kind=$2, settings=$3, updated_at=$4, version=version+1 \
         WHERE id=$5 AND version=$6";
    let q = bind_fields(sqlx::query(sql), s);
    let q = q.bind(s.updated_at).bind(&s.id).bind(s.version);
    rows::update_object(conn, q, &format!("stage {}", s.name), |_| s.name.clone()).await
}

/// Deletes a stage (its bindings go with it).
pub async fn delete(conn: &mut Conn, id: &str) -> StoreResult<()> {
    rows::delete_by_id(conn, "stages", id).await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct PromptRow {
    id: String,
    name: String,
    field_key: String,
    label: String,
    field_type: String,
    #[sqlx(try_from = "super::engine::Flag")]
    required: bool,
    placeholder: String,
    initial_value: String,
    sub_text: String,
    sort_order: i64,
    #[sqlx(try_from = "super::engine::Flag")]
    placeholder_expression: bool,
    #[sqlx(try_from = "super::engine::Flag")]
    initial_value_expression: bool,
    created_at: i64,
    updated_at: i64,
    version: i64,
}

const PROMPT_COLS: &str = "id, name, field_key, label, field_type, required, placeholder, \
    initial_value, sub_text, sort_order, placeholder_expression, initial_value_expression, \
    created_at, updated_at, version";

impl TableRow for PromptRow {
    const COLUMNS: &'static str = PROMPT_COLS;
    const TABLE: &'static str = "prompts";
}

impl DomainRow for PromptRow {
    type Domain = Prompt;
    fn into_domain(self) -> StoreResult<Prompt> {
        Ok(Prompt {
            id: self.id,
            name: self.name,
            field_key: self.field_key,
            label: self.label,
            field_type: self.field_type,
            required: self.required,
            placeholder: self.placeholder,
            initial_value: self.initial_value,
            sub_text: self.sub_text,
            order: self.sort_order,
            placeholder_expression: self.placeholder_expression,
            initial_value_expression: self.initial_value_expression,
            created_at: self.created_at,
            updated_at: self.updated_at,
            version: self.version,
        })
    }
}

/// Every prompt field, by order.
pub async fn list_prompts(conn: &mut Conn) -> StoreResult<Vec<Prompt>> {
    rows::select_all::<PromptRow>(conn, "ORDER BY sort_order, name", &[]).await
}

/// Binds the columns an insert and an update of a prompt both write, in [`PROMPT_COLS`] order.
fn bind_prompt_fields<'q>(q: Query<'q>, p: &'q Prompt) -> Query<'q> {
    q.bind(&p.name)
        .bind(&p.field_key)
        .bind(&p.label)
        .bind(&p.field_type)
        .bind(p.required)
        .bind(&p.placeholder)
        .bind(&p.initial_value)
        .bind(&p.sub_text)
        .bind(p.order)
        .bind(p.placeholder_expression)
        .bind(p.initial_value_expression)
}

/// Inserts a prompt field.
pub async fn insert_prompt(conn: &mut Conn, p: &Prompt) -> StoreResult<()> {
    let sql = format!(
        "INSERT INTO prompts ({PROMPT_COLS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15)"
    );
    let q = bind_prompt_fields(sqlx::query(AssertSqlSafe(sql)).bind(&p.id), p);
    let q = q.bind(p.created_at).bind(p.updated_at).bind(p.version);
    rows::insert_object(conn, q, |_| p.name.clone()).await
}

/// Updates a prompt field with an optimistic version check.
pub async fn update_prompt(conn: &mut Conn, p: &Prompt) -> StoreResult<()> {
    let sql = "UPDATE prompts SET name=$1, field_key=$2, label=$3, field_type=$4, required=$5, \
         placeholder=$6, initial_value=$7, sub_text=$8, sort_order=$9, placeholder_expression=$10, \
         initial_value_expression=$11, updated_at=$12, \
         version=version+1 WHERE id=$13 AND version=$14";
    let q = bind_prompt_fields(sqlx::query(sql), p);
    let q = q.bind(p.updated_at).bind(&p.id).bind(p.version);
    rows::update_object(conn, q, &format!("prompt {}", p.name), |_| p.name.clone()).await
}

/// Deletes a prompt field.
pub async fn delete_prompt(conn: &mut Conn, id: &str) -> StoreResult<()> {
    rows::delete_by_id(conn, "prompts", id).await?;
    Ok(())
}
