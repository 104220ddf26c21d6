//! Helpers shared by the aggregate modules: decoding enums and JSON columns, time, version checks.

use std::str::FromStr;

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{StoreError, StoreResult};

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
    let known: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         AND name NOT LIKE '_sqlx_%'",
    )
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
