//! What `store copy` needs to know about a store's tables, read from the engine's own catalog
//! (SQLite's pragmas, PostgreSQL's `information_schema` and `pg_constraint`) rather than from a
//! list in the code, so a table a later migration adds is copied without anyone touching this:
//! the tables, their columns and what type each column takes, and the foreign keys that decide
//! the order the tables are filled in.

use std::collections::{BTreeMap, BTreeSet};

use crate::store::{Conn, Engine, StoreResult};

/// The kind of value a column takes on the target, which decides how a value is bound to it
/// (a PostgreSQL `BOOLEAN` takes a bool, SQLite's flags are `INTEGER` 0/1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    Bool,
    Integer,
    Real,
    Text,
    Blob,
}

/// One column of a table, in the table's own column order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub kind: ColumnKind,
}

/// A foreign key of a table: `columns` pairs each referencing column with the one it refers to
/// in `parent`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignKey {
    pub parent: String,
    pub columns: Vec<(String, String)>,
}

/// One latchkey table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub name: String,
    pub columns: Vec<Column>,
    pub foreign_keys: Vec<ForeignKey>,
}

impl Table {
    /// The foreign keys that point back into this same table (a group's parent group): its rows
    /// must go in parent-first.
    pub fn self_references(&self) -> impl Iterator<Item = &ForeignKey> {
        self.foreign_keys.iter().filter(|fk| fk.parent == self.name)
    }
}

/// Every latchkey table of the store behind `conn` (migration bookkeeping excluded), by name.
pub async fn read_tables(conn: &mut Conn) -> StoreResult<BTreeMap<String, Table>> {
    let engine = Engine::of(conn);
    let names: Vec<String> = sqlx::query_scalar(engine.tables_sql())
        .fetch_all(&mut *conn)
        .await?;
    let mut tables = BTreeMap::new();
    for name in names {
        let (columns, foreign_keys) = match engine {
            Engine::Sqlite => (
                sqlite_columns(conn, &name).await?,
                sqlite_foreign_keys(conn, &name).await?,
            ),
            Engine::Postgres => (
                postgres_columns(conn, &name).await?,
                postgres_foreign_keys(conn, &name).await?,
            ),
        };
        let table = Table {
            name: name.clone(),
            columns,
            foreign_keys,
        };
        tables.insert(name, table);
    }
    Ok(tables)
}

async fn sqlite_columns(conn: &mut Conn, table: &str) -> StoreResult<Vec<Column>> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT CAST(name AS TEXT), CAST(type AS TEXT) FROM pragma_table_info($1) ORDER BY cid",
    )
    .bind(table)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(name, declared)| Column {
            name,
            kind: sqlite_affinity(&declared),
        })
        .collect())
}

/// SQLite's type affinity rules (§3.1 of its datatype documentation), as far as binding needs
/// them; a flag column is an `INTEGER` there.
fn sqlite_affinity(declared: &str) -> ColumnKind {
    let t = declared.to_ascii_uppercase();
    if t.contains("INT") {
        ColumnKind::Integer
    } else if t.contains("CHAR") || t.contains("CLOB") || t.contains("TEXT") {
        ColumnKind::Text
    } else if t.is_empty() || t.contains("BLOB") {
        ColumnKind::Blob
    } else if t.contains("REAL") || t.contains("FLOA") || t.contains("DOUB") {
        ColumnKind::Real
    } else {
        ColumnKind::Integer // NUMERIC affinity: latchkey has none
    }
}

async fn sqlite_foreign_keys(conn: &mut Conn, table: &str) -> StoreResult<Vec<ForeignKey>> {
    let rows: Vec<(i64, String, String, Option<String>)> = sqlx::query_as(
        "SELECT id, CAST(\"table\" AS TEXT), CAST(\"from\" AS TEXT), CAST(\"to\" AS TEXT) \
         FROM pragma_foreign_key_list($1) ORDER BY id, seq",
    )
    .bind(table)
    .fetch_all(&mut *conn)
    .await?;
    let mut keys: BTreeMap<i64, ForeignKey> = BTreeMap::new();
    for (id, parent, from, to) in rows {
        // `REFERENCES parent` without columns refers to the parent's primary key.
        let to = match to {
            Some(to) => to,
            None => sqlite_primary_key(conn, &parent).await?.join(","),
        };
        keys.entry(id)
            .or_insert_with(|| ForeignKey {
                parent,
                columns: Vec::new(),
            })
            .columns
            .push((from, to));
    }
    Ok(keys.into_values().collect())
}

async fn sqlite_primary_key(conn: &mut Conn, table: &str) -> StoreResult<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT CAST(name AS TEXT) FROM pragma_table_info($1) WHERE pk > 0 ORDER BY pk",
    )
    .bind(table)
    .fetch_all(conn)
    .await?)
}

async fn postgres_columns(conn: &mut Conn, table: &str) -> StoreResult<Vec<Column>> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT column_name::text, data_type::text FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
    )
    .bind(table)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(name, data_type)| Column {
            name,
            kind: postgres_kind(&data_type),
        })
        .collect())
}

fn postgres_kind(data_type: &str) -> ColumnKind {
    match data_type {
        "boolean" => ColumnKind::Bool,
        "smallint" | "integer" | "bigint" => ColumnKind::Integer,
        "real" | "double precision" => ColumnKind::Real,
        "bytea" => ColumnKind::Blob,
        // text, varchar; anything else takes its text form (PostgreSQL refuses what it cannot
        // cast, which fails the copy with the column's name).
        _ => ColumnKind::Text,
    }
}

async fn postgres_foreign_keys(conn: &mut Conn, table: &str) -> StoreResult<Vec<ForeignKey>> {
    let rows: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT c.conname::text, parent.relname::text, a.attname::text, pa.attname::text \
         FROM pg_constraint c \
         JOIN pg_class child ON child.oid = c.conrelid \
         JOIN pg_namespace n ON n.oid = child.relnamespace \
         JOIN pg_class parent ON parent.oid = c.confrelid \
         CROSS JOIN LATERAL unnest(c.conkey, c.confkey) WITH ORDINALITY AS k(att, patt, ord) \
         JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.att \
         JOIN pg_attribute pa ON pa.attrelid = c.confrelid AND pa.attnum = k.patt \
         WHERE c.contype = 'f' AND n.nspname = current_schema() AND child.relname = $1 \
         ORDER BY c.conname, k.ord",
    )
    .bind(table)
    .fetch_all(conn)
    .await?;
    let mut keys: BTreeMap<String, ForeignKey> = BTreeMap::new();
    for (name, parent, from, to) in rows {
        keys.entry(name)
            .or_insert_with(|| ForeignKey {
                parent,
                columns: Vec::new(),
            })
            .columns
            .push((from, to));
    }
    Ok(keys.into_values().collect())
}

/// The tables in an order where every table comes after the tables it references (a table's
/// references to itself are left to [`crate::store::copy`]'s row order). Among tables that are
/// ready at the same time, alphabetical, so the order is the same on every run. Tables that
/// reference each other in a cycle cannot be ordered: that is an error naming them, never a
/// silently skipped table.
pub fn copy_order(tables: &BTreeMap<String, Table>) -> Result<Vec<&Table>, String> {
    let mut waiting: BTreeMap<&str, BTreeSet<&str>> = tables
        .values()
        .map(|t| {
            let parents = t
                .foreign_keys
                .iter()
                .map(|fk| fk.parent.as_str())
                .filter(|p| *p != t.name)
                .collect();
            (t.name.as_str(), parents)
        })
        .collect();
    let mut order = Vec::with_capacity(tables.len());
    while !waiting.is_empty() {
        let ready: Vec<&str> = waiting
            .iter()
            .filter(|(_, parents)| parents.iter().all(|p| !waiting.contains_key(p)))
            .map(|(name, _)| *name)
            .collect();
        let Some(&next) = ready.first() else {
            let stuck: Vec<&str> = waiting.keys().copied().collect();
            return Err(format!(
                "the tables {} reference each other in a cycle (or a table missing from the \
                 store), so no insert order satisfies their foreign keys",
                stuck.join(", ")
            ));
        };
        waiting.remove(next);
        if let Some(table) = tables.get(next) {
            order.push(table);
        }
    }
    Ok(order)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(name: &str, parents: &[&str]) -> (String, Table) {
        let foreign_keys = parents
            .iter()
            .map(|p| ForeignKey {
                parent: p.to_string(),
                columns: vec![("ref".into(), "id".into())],
            })
            .collect();
        let t = Table {
            name: name.into(),
            columns: Vec::new(),
            foreign_keys,
        };
        (name.into(), t)
    }

    fn names(order: &[&Table]) -> Vec<String> {
        order.iter().map(|t| t.name.clone()).collect()
    }

    #[test]
    fn a_table_comes_after_every_table_it_references_and_self_references_do_not_block() {
        let tables: BTreeMap<_, _> = [
            table("a_sessions", &["users"]),
            table("groups", &["groups"]),
            table("members", &["users", "groups"]),
            table("users", &[]),
        ]
        .into_iter()
        .collect();
        let order = names(&copy_order(&tables).expect("order"));
        assert_eq!(order, ["groups", "users", "a_sessions", "members"]);
    }

    #[test]
    fn tables_in_a_cycle_are_an_error_naming_them() {
        let tables: BTreeMap<_, _> = [table("a", &["b"]), table("b", &["a"]), table("c", &[])]
            .into_iter()
            .collect();
        let err = copy_order(&tables).expect_err("a cycle");
        assert!(
            err.contains("the tables a, b reference each other"),
            "{err}"
        );
    }

    #[test]
    fn sqlite_flags_are_integers_and_text_is_text() {
        assert_eq!(sqlite_affinity("INTEGER"), ColumnKind::Integer);
        assert_eq!(sqlite_affinity("TEXT"), ColumnKind::Text);
        assert_eq!(sqlite_affinity(""), ColumnKind::Blob);
        assert_eq!(postgres_kind("boolean"), ColumnKind::Bool);
        assert_eq!(postgres_kind("bigint"), ColumnKind::Integer);
    }
}
