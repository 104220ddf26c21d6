//! One stored value on its way from one engine to the other: read generically from a row by the
//! type the source engine reports for it, and bound as the target's column wants it (a
//! PostgreSQL `BOOLEAN` gets a bool, a SQLite flag gets 0/1, a NULL is typed as its column so
//! PostgreSQL accepts it).

use sqlx::any::{AnyArguments, AnyRow, AnyTypeInfoKind};
use sqlx::query::Query;
use sqlx::{Any, Row, TypeInfo, ValueRef};

use super::schema::{Column, ColumnKind};

/// A value as read from the source.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl Value {
    /// A comparable form, for matching a row's key against another row's reference.
    pub fn key_text(&self) -> String {
        format!("{self:?}")
    }
}

/// The values of one row, in column order; `Err` says which column did not decode.
pub fn read_row(row: &AnyRow) -> Result<Vec<Value>, String> {
    (0..row.len()).map(|i| read_value(row, i)).collect()
}

fn read_value(row: &AnyRow, i: usize) -> Result<Value, String> {
    let raw = row.try_get_raw(i).map_err(|e| e.to_string())?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    let kind = raw.type_info().kind();
    let decoded = match kind {
        AnyTypeInfoKind::Null => Ok(Value::Null),
        AnyTypeInfoKind::Bool => row.try_get::<bool, _>(i).map(Value::Bool),
        AnyTypeInfoKind::SmallInt | AnyTypeInfoKind::Integer | AnyTypeInfoKind::BigInt => {
            row.try_get::<i64, _>(i).map(Value::Int)
        }
        AnyTypeInfoKind::Real | AnyTypeInfoKind::Double => {
            row.try_get::<f64, _>(i).map(Value::Real)
        }
        AnyTypeInfoKind::Text => row.try_get::<String, _>(i).map(Value::Text),
        AnyTypeInfoKind::Blob => row.try_get::<Vec<u8>, _>(i).map(Value::Blob),
    };
    decoded.map_err(|e| format!("a {} value does not decode: {e}", raw.type_info().name()))
}

/// Binds `value` for a target's `column`: flags become what the target stores
/// (bool on PostgreSQL, 0/1 on SQLite), a NULL takes the column's type. `Err` says why the
/// value cannot go there (a flag that is neither 0 nor 1).
pub fn bind<'q>(
    query: Query<'q, Any, AnyArguments>,
    value: &Value,
    column: &Column,
) -> Result<Query<'q, Any, AnyArguments>, String> {
    let kind = column.kind;
    Ok(match (value, kind) {
        (Value::Null, ColumnKind::Bool) => query.bind(None::<bool>),
        (Value::Null, ColumnKind::Integer) => query.bind(None::<i64>),
        (Value::Null, ColumnKind::Real) => query.bind(None::<f64>),
        (Value::Null, ColumnKind::Text) => query.bind(None::<String>),
        (Value::Null, ColumnKind::Blob) => query.bind(None::<Vec<u8>>),
        (Value::Int(i), ColumnKind::Bool) => match i {
            0 | 1 => query.bind(*i == 1),
            other => return Err(format!("{other} is not a flag (0 or 1)")),
        },
        (Value::Bool(b), ColumnKind::Bool) => query.bind(*b),
        // A flag onto SQLite (its flag columns are INTEGER), or onto a PostgreSQL integer.
        (Value::Bool(b), _) => query.bind(i64::from(*b)),
        (Value::Int(i), ColumnKind::Real) => query.bind(*i as f64),
        (Value::Int(i), _) => query.bind(*i),
        (Value::Real(r), _) => query.bind(*r),
        (Value::Text(s), _) => query.bind(s.clone()),
        (Value::Blob(b), _) => query.bind(b.clone()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flag_other_than_zero_or_one_is_refused_for_a_boolean_column() {
        let column = Column {
            name: "enabled".into(),
            kind: ColumnKind::Bool,
        };
        for ok in [0, 1] {
            assert!(bind(sqlx::query("SELECT $1"), &Value::Int(ok), &column).is_ok());
        }
        let err = bind(sqlx::query("SELECT $1"), &Value::Int(2), &column)
            .err()
            .expect("refused");
        assert!(err.contains("not a flag"), "{err}");
    }
}
