//! Helpers shared by the aggregate modules: selecting and decoding rows, decoding enums and JSON
//! columns, running inserts, versioned updates and deletes, time, version checks.

use std::str::FromStr;

use serde::de::DeserializeOwned;
use serde_json::Value;
use sqlx::Any;
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::{AssertSqlSafe, FromRow, SqlSafeStr};

use super::{Conn, StoreError, StoreResult};

/// A statement with its arguments bound, as the aggregate files build their inserts and updates.
pub type Query<'q> = sqlx::query::Query<'q, Any, AnyArguments>;

/// The row type of one table: which columns it selects from where, so that one [`select_rows`]
/// serves every table instead of a `SELECT` written out per lookup.
pub trait TableRow: for<'r> FromRow<'r, AnyRow> + Send + Unpin {
    /// The `SELECT` list (computed columns and table aliases included).
    const COLUMNS: &'static str;
    /// What the columns are selected `FROM` (with its alias where the columns use one).
    const TABLE: &'static str;

    /// The `SELECT` list as `engine` reads it (the same text unless a column needs a dialect,
    /// such as a member of a JSON column).
    fn columns(engine: super::Engine) -> std::borrow::Cow<'static, str> {
        let _ = engine;
        std::borrow::Cow::Borrowed(Self::COLUMNS)
    }
}

/// A row that decodes into its domain object, reporting damaged columns.
pub trait DomainRow: TableRow {
    /// The object the row stores.
    type Domain;
    /// Decodes the row.
    fn into_domain(self) -> StoreResult<Self::Domain>;
}

fn select_sql<R: TableRow>(engine: super::Engine, tail: &str) -> AssertSqlSafe<String> {
    AssertSqlSafe(format!(
        "SELECT {} FROM {} {tail}",
        R::columns(engine),
        R::TABLE
    ))
}

/// The row `sql` selects with `key` bound to its one placeholder, if there is one.
pub async fn fetch_by<T>(conn: &mut Conn, sql: impl SqlSafeStr, key: &str) -> StoreResult<Option<T>>
where
    T: for<'r> FromRow<'r, AnyRow> + Send + Unpin,
{
    Ok(sqlx::query_as(sql).bind(key).fetch_optional(conn).await?)
}

/// The rows of `R`'s table that `tail` (`WHERE …`, `JOIN …`, `ORDER BY …`) picks, with `binds`
/// bound to its placeholders in order.
pub async fn select_rows<R: TableRow>(
    conn: &mut Conn,
    tail: &str,
    binds: &[&str],
) -> StoreResult<Vec<R>> {
    let mut query = sqlx::query_as(select_sql::<R>(super::Engine::of(conn), tail));
    for value in binds {
        query = query.bind(*value);
    }
    Ok(query.fetch_all(conn).await?)
}

/// The row of `R`'s table that `tail` (`WHERE column = ?`) picks with `key` bound, if any.
pub async fn select_row<R: TableRow>(
    conn: &mut Conn,
    tail: &str,
    key: &str,
) -> StoreResult<Option<R>> {
    let sql = select_sql::<R>(super::Engine::of(conn), tail);
    fetch_by(conn, sql, key).await
}

/// [`select_rows`], decoded into domain objects.
pub async fn select_all<R: DomainRow>(
    conn: &mut Conn,
    tail: &str,
    binds: &[&str],
) -> StoreResult<Vec<R::Domain>> {
    select_rows::<R>(conn, tail, binds)
        .await?
        .into_iter()
        .map(R::into_domain)
        .collect()
}

/// [`select_row`], decoded into a domain object.
pub async fn select_one<R: DomainRow>(
    conn: &mut Conn,
    tail: &str,
    key: &str,
) -> StoreResult<Option<R::Domain>> {
    select_row::<R>(conn, tail, key)
        .await?
        .map(R::into_domain)
        .transpose()
}

/// Runs the INSERT of an admin object; a unique column already taken is reported with the value
/// `dup` names for that column.
pub async fn insert_object(
    conn: &mut Conn,
    query: Query<'_>,
    dup: impl Fn(&str) -> String,
) -> StoreResult<()> {
    query
        .execute(conn)
        .await
        .map_err(|e| with_value(e.into(), dup))?;
    Ok(())
}

/// Runs the versioned UPDATE of an admin object (`… version=version+1 WHERE id=? AND
/// version=?`): a unique column already taken is reported with the value `dup` names, and no
/// row changed means someone else saved `what` first ([`check_updated`]).
pub async fn update_object(
    conn: &mut Conn,
    query: Query<'_>,
    what: &str,
    dup: impl Fn(&str) -> String,
) -> StoreResult<()> {
    let res = query
        .execute(conn)
        .await
        .map_err(|e| with_value(e.into(), dup))?;
    check_updated(res.rows_affected(), what)
}

/// Deletes the row of `table` with `id`; returns how many rows went (0 or 1).
pub async fn delete_by_id(conn: &mut Conn, table: &str, id: &str) -> StoreResult<u64> {
    let res = sqlx::query(AssertSqlSafe(format!("DELETE FROM {table} WHERE id = $1")))
        .bind(id)
        .execute(conn)
        .await?;
    Ok(res.rows_affected())
}

/// Runs a conditional single-row UPDATE whose placeholders are `(value, id)` (consume or revoke
/// something once); true when this call changed the row, false when someone else did first.
pub async fn update_once(
    conn: &mut Conn,
    sql: &'static str,
    value: i64,
    id: &str,
) -> StoreResult<bool> {
    let res = sqlx::query(sql).bind(value).bind(id).execute(conn).await?;
    Ok(res.rows_affected() == 1)
}

/// Decodes an enum column, reporting damage with the object it belongs to.
pub fn parse_enum<T: FromStr<Err = String>>(what: &str, s: &str) -> StoreResult<T> {
    T::from_str(s).map_err(|reason| StoreError::Corrupt {
        what: what.to_string(),
        reason,
    })
}

/// Decodes a JSON column.
pub fn parse_json<T: DeserializeOwned>(what: &str, s: &str) -> StoreResult<T> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt {
        what: what.to_string(),
        reason: e.to_string(),
    })
}

/// Encodes a JSON column.
pub fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "{}".into())
}

/// A JSON object column, defaulting to `{}` when absent.
pub fn json_or_empty(value: &Value) -> String {
    if value.is_null() {
        "{}".into()
    } else {
        value.to_string()
    }
}

/// Current unix time in seconds.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Turns "0 rows updated" into the right error: stale when the row exists, else not found.
pub fn check_updated(affected: u64, what: &str) -> StoreResult<()> {
    if affected == 1 {
        Ok(())
    } else {
        Err(StoreError::Stale {
            what: what.to_string(),
        })
    }
}

/// Fills in the value of a duplicate error from the object being saved.
pub fn with_value(err: StoreError, value: impl Fn(&str) -> String) -> StoreError {
    match err {
        StoreError::Duplicate { field, .. } => {
            let value = value(&field);
            StoreError::Duplicate { field, value }
        }
        other => other,
    }
}

/// Rows in `table` (for the dashboard, maintenance reports and tests that prove nothing was
/// written). Only latchkey's own tables are accepted.
pub async fn count_rows(conn: &mut super::Conn, table: &str) -> StoreResult<i64> {
    let known: Vec<String> = sqlx::query_scalar(super::Engine::of(conn).tables_sql())
        .fetch_all(&mut *conn)
        .await?;
    if !known.iter().any(|t| t == table) {
        return Err(StoreError::NotFound {
            what: format!("table {table}"),
        });
    }
    Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM \"{table}\""
    )))
    .fetch_one(conn)
    .await?)
}
