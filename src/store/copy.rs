//! `latchkey store copy`: moves a whole store (configuration, users, keys, live sessions and
//! tokens: every table) from one location to another, typically a SQLite file to PostgreSQL
//! when one machine is no longer enough, or back for a backup. The source is only read, inside
//! one read transaction (one consistent snapshot, never migrated); the target is migrated by
//! [`Store::open_with`], must be empty, and is filled in one write transaction, so a copy that
//! fails anywhere leaves it as empty as it was. Tables and columns come from the engines'
//! catalogs ([`schema`]), so a table a new migration adds is copied without changes here.
//!
//! Triggers on the target, and why none changes a copied value (0031_schema.sql on PostgreSQL,
//! the migrations on SQLite): the `*_config`/`events_insert_counter`/`*_devices` triggers only
//! bump the target's own `meta` counters, which is wanted (an instance already running on the
//! target sees that its configuration changed); `users_number`/`groups_number` fill `num_pk`
//! only `WHEN NEW.num_pk IS NULL`, and every column is inserted explicitly, `num_pk` included,
//! so they never fire for a copied row and users and groups keep their uid/gid numbers; the
//! signing-key and policy-binding triggers run on UPDATE and DELETE only, and the copy only
//! inserts. `meta` itself is not copied: its counters stay the target's own.

mod schema;
mod values;

use std::collections::{BTreeMap, VecDeque};
use std::fmt;

use sqlx::pool::PoolOptions;
use sqlx::{Any, AssertSqlSafe, Pool};

use super::{Conn, Engine, Store, StoreError, StoreLocation, StoreOptions, Topic};
use schema::Table;
use values::Value;

/// The one table whose rows belong to each store itself: its change counters.
const OWN_TABLE: &str = "meta";
/// Parameters per INSERT statement (well under SQLite's and PostgreSQL's limits).
const PARAMS_PER_STATEMENT: usize = 900;

/// Why a copy did not happen; each says what to do, on one line.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// Opening, reading or committing failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// `--from`/`--to` name something that cannot take part in a copy.
    #[error("{0}")]
    Location(String),
    /// The target already holds data.
    #[error(
        "the target {target} is not empty ({tables}): copy into a new, empty database (createdb \
         a fresh one) or a SQLite path that does not exist yet; nothing was changed"
    )]
    TargetNotEmpty { target: String, tables: String },
    /// The two stores are at different migrations.
    #[error(
        "the source {source_store} is at schema version {source_version} and the target \
         {target} at {target_version}: {advice}"
    )]
    SchemaVersions {
        source_store: String,
        source_version: String,
        target: String,
        target_version: String,
        advice: String,
    },
    /// The two stores' tables differ, or cannot be ordered: a latchkey bug, named.
    #[error("cannot copy {source_store} to {target}: {reason}")]
    Schema {
        source_store: String,
        target: String,
        reason: String,
    },
    /// A table's rows could not be read or written; the target's transaction was rolled back.
    #[error("cannot copy table {table}: {reason}; the target was left empty (one transaction)")]
    Table { table: String, reason: String },
}

/// The rows copied per table, in the order they were copied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyReport {
    pub tables: Vec<(String, u64)>,
}

impl CopyReport {
    /// Rows copied in all.
    pub fn total_rows(&self) -> u64 {
        self.tables.iter().map(|(_, n)| n).sum()
    }

    /// The rows copied into `table` (0 when it had none).
    pub fn rows(&self, table: &str) -> u64 {
        self.tables
            .iter()
            .find(|(t, _)| t == table)
            .map_or(0, |(_, n)| *n)
    }
}

/// One line per table that had rows: `users: 3 rows`.
impl fmt::Display for CopyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (table, rows) in self.tables.iter().filter(|(_, n)| *n > 0) {
            let unit = if *rows == 1 { "row" } else { "rows" };
            writeln!(f, "{table}: {rows} {unit}")?;
        }
        Ok(())
    }
}

/// A store opened only to be read: not migrated (a copy must not change its source, and an
/// older source must be refused, not upgraded behind the admin's back), not created.
pub struct Source {
    pool: Pool<Any>,
    location: StoreLocation,
}

impl Source {
    /// Closes its connections.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Parses `--from`/`--to` exactly as `--db` is parsed, naming the flag in a refusal.
pub fn parse_location(flag: &str, value: &str) -> Result<StoreLocation, CopyError> {
    StoreLocation::parse(value).map_err(|e| match e {
        StoreError::Location(msg) => {
            CopyError::Location(msg.replacen("--db ", &format!("{flag} "), 1))
        }
        other => CopyError::Store(other),
    })
}

/// Opens the source for reading: it must exist (a missing file is not created).
pub async fn open_source(
    location: &StoreLocation,
    options: StoreOptions,
) -> Result<Source, CopyError> {
    sqlx::any::install_default_drivers();
    match location {
        StoreLocation::Memory => {
            return Err(CopyError::Location(
                "--from :memory: is a new, empty store: there is nothing to copy from it".into(),
            ));
        }
        StoreLocation::File(path) if !path.is_file() => {
            return Err(CopyError::Location(format!(
                "--from {}: there is no store there; pass the file a latchkey serves (its --db)",
                path.display()
            )));
        }
        _ => {}
    }
    let connect = super::engine::connect_options(location)?;
    let busy = options.busy_timeout;
    super::probe(location, &connect, busy).await?;
    let engine = location.engine();
    let pool = PoolOptions::<Any>::new()
        .max_connections(2)
        .after_connect(move |conn, _| Box::pin(engine.init_session(conn, busy)))
        .connect_with(connect)
        .await
        .map_err(StoreError::from)?;
    Ok(Source {
        pool,
        location: location.clone(),
    })
}

/// Opens (creating and migrating) the target; `:memory:` is refused, as the copy would vanish
/// with the command.
pub async fn open_target(
    location: &StoreLocation,
    options: StoreOptions,
) -> Result<Store, CopyError> {
    if *location == StoreLocation::Memory {
        return Err(CopyError::Location(
            "--to :memory: would be thrown away when the command ends: pass a SQLite file path \
             or a postgres:// URL"
                .into(),
        ));
    }
    Ok(Store::open_with(location, options).await?)
}

/// `latchkey store copy`: opens both ends, copies, closes them.
pub async fn copy_between(
    from: &StoreLocation,
    to: &StoreLocation,
    options: StoreOptions,
) -> Result<CopyReport, CopyError> {
    if from == to {
        return Err(CopyError::Location(format!(
            "--from and --to are the same store ({}): pass another --to",
            to.display()
        )));
    }
    let source = open_source(from, options).await?;
    let target = match open_target(to, options).await {
        Ok(target) => target,
        Err(e) => {
            source.close().await;
            return Err(e);
        }
    };
    let result = copy_store(&source, &target).await;
    source.close().await;
    target.close().await;
    result
}

/// Copies every table of `from` into the empty store `to` (see the module's documentation).
pub async fn copy_store(from: &Source, to: &Store) -> Result<CopyReport, CopyError> {
    let engine = from.location.engine();
    let mut snapshot = match engine.begin_read() {
        Some(begin) => from.pool.begin_with(begin).await,
        None => from.pool.begin().await,
    }
    .map_err(StoreError::from)?;
    let plan = plan(from, &mut snapshot, to).await?;
    let mut tx = to.write_tx().await?;
    refuse_non_empty(tx.conn(), to, &plan.seeded).await?;
    let mut report = CopyReport::default();
    for table in &plan.order {
        let rows = copy_table(&mut snapshot, tx.conn(), table).await?;
        report.tables.push((table.name.clone(), rows));
    }
    tx.touch(Topic::All);
    tx.commit().await?;
    snapshot.commit().await.map_err(StoreError::from)?;
    Ok(report)
}

/// What the copy will do: the target's tables in foreign-key order, and the rows a freshly
/// migrated store already holds per table (what "empty" means).
struct Plan {
    order: Vec<Table>,
    seeded: BTreeMap<String, i64>,
}

async fn plan(from: &Source, snapshot: &mut Conn, to: &Store) -> Result<Plan, CopyError> {
    let schema_err = |reason: String| CopyError::Schema {
        source_store: from.location.display(),
        target: to.location().display(),
        reason,
    };
    let mut target = to.read().await?;
    let source_version = schema_version(snapshot).await.map_err(|e| {
        CopyError::Location(format!(
            "--from {}: not a latchkey store (it has no migration record: {e})",
            from.location.display()
        ))
    })?;
    let target_version = schema_version(&mut target)
        .await
        .map_err(StoreError::from)?;
    if source_version != target_version {
        let shown = |v: Option<i64>| v.map_or_else(|| "none".to_string(), |v| v.to_string());
        let advice = if source_version < target_version {
            format!(
                "upgrade the source first (open it once with this latchkey, e.g. `latchkey \
                 export --db {} >/dev/null`), then copy",
                from.location.display()
            )
        } else {
            "the source was written by a newer latchkey: run `store copy` with that version"
                .to_string()
        };
        return Err(CopyError::SchemaVersions {
            source_store: from.location.display(),
            source_version: shown(source_version),
            target: to.location().display(),
            target_version: shown(target_version),
            advice,
        });
    }
    let source_tables = schema::read_tables(snapshot).await?;
    let target_tables = schema::read_tables(&mut target).await?;
    drop(target);
    same_tables(&source_tables, &target_tables).map_err(schema_err)?;
    let seeded = seeded_rows(&target_tables).await?;
    if let Some(table) = seeded.keys().find(|t| t.as_str() != OWN_TABLE) {
        return Err(schema_err(format!(
            "a fresh store already has rows in {table} (a migration seeds it), and store copy \
             only knows how to keep `{OWN_TABLE}`'s: teach src/store/copy.rs how to merge {table}"
        )));
    }
    let order = schema::copy_order(&target_tables)
        .map_err(schema_err)?
        .into_iter()
        .filter(|t| t.name != OWN_TABLE)
        .cloned()
        .collect();
    Ok(Plan { order, seeded })
}

/// The latest migration applied (`None` when none is recorded).
async fn schema_version(conn: &mut Conn) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(
        "SELECT CAST(MAX(version) AS BIGINT) FROM _sqlx_migrations WHERE success = TRUE",
    )
    .fetch_one(conn)
    .await
}

/// Both stores have the same tables with the same columns (guaranteed by equal schema
/// versions, unless the two engines' migrations drifted apart: then refuse rather than drop
/// a column).
fn same_tables(
    source: &BTreeMap<String, Table>,
    target: &BTreeMap<String, Table>,
) -> Result<(), String> {
    for name in source.keys().chain(target.keys()) {
        let (Some(s), Some(t)) = (source.get(name), target.get(name)) else {
            let side = if source.contains_key(name) {
                "target"
            } else {
                "source"
            };
            return Err(format!(
                "the {side} has no table {name}, though both are at the same schema version"
            ));
        };
        let names = |t: &Table| t.columns.iter().map(|c| c.name.clone()).collect::<Vec<_>>();
        if names(s) != names(t) {
            return Err(format!(
                "table {name} has columns ({}) in the source and ({}) in the target",
                names(s).join(", "),
                names(t).join(", ")
            ));
        }
    }
    Ok(())
}

/// The rows a freshly migrated store holds per table (only tables with rows are listed): a
/// throwaway in-memory store of this binary, whose migrations seed the same rows on both
/// engines (`meta`'s one row).
async fn seeded_rows(tables: &BTreeMap<String, Table>) -> Result<BTreeMap<String, i64>, CopyError> {
    let fresh = Store::open(&StoreLocation::Memory).await?;
    let mut conn = fresh.read().await?;
    let mut seeded = BTreeMap::new();
    for name in tables.keys() {
        let rows = match super::rows::count_rows(&mut conn, name).await {
            Ok(rows) => rows,
            Err(StoreError::NotFound { .. }) => 0, // a table only the target's engine has
            Err(e) => return Err(e.into()),
        };
        if rows > 0 {
            seeded.insert(name.clone(), rows);
        }
    }
    drop(conn);
    fresh.close().await;
    Ok(seeded)
}

/// Refuses a target with any row beyond what its migrations seeded, checked inside the copy's
/// own write transaction (no writer can slip in between the check and the copy).
async fn refuse_non_empty(
    conn: &mut Conn,
    to: &Store,
    seeded: &BTreeMap<String, i64>,
) -> Result<(), CopyError> {
    let names: Vec<String> = sqlx::query_scalar(Engine::of(conn).tables_sql())
        .fetch_all(&mut *conn)
        .await
        .map_err(StoreError::from)?;
    let mut found = Vec::new();
    for name in names {
        let rows = super::rows::count_rows(conn, &name).await?;
        if rows > seeded.get(&name).copied().unwrap_or(0) {
            found.push(format!("{name}: {rows}"));
        }
    }
    if found.is_empty() {
        return Ok(());
    }
    found.sort();
    let more = found.len().saturating_sub(3);
    found.truncate(3);
    if more > 0 {
        found.push(format!("{more} more tables"));
    }
    Err(CopyError::TargetNotEmpty {
        target: to.location().display(),
        tables: found.join(", "),
    })
}

/// Reads one table from the source snapshot and inserts it into the target; returns its rows.
async fn copy_table(source: &mut Conn, target: &mut Conn, table: &Table) -> Result<u64, CopyError> {
    let fail = |reason: String| CopyError::Table {
        table: table.name.clone(),
        reason,
    };
    let columns = table
        .columns
        .iter()
        .map(|c| quoted(&c.name))
        .collect::<Vec<_>>()
        .join(", ");
    let select = format!("SELECT {columns} FROM {}", quoted(&table.name));
    let rows = sqlx::query(AssertSqlSafe(select))
        .fetch_all(&mut *source)
        .await
        .map_err(|e| fail(format!("reading the source: {e}")))?;
    let rows = rows
        .iter()
        .map(values::read_row)
        .collect::<Result<Vec<_>, _>>()
        .map_err(fail)?;
    let rows = parents_first(table, rows).map_err(fail)?;
    let per_statement = (PARAMS_PER_STATEMENT / table.columns.len().max(1)).max(1);
    for batch in rows.chunks(per_statement) {
        insert_batch(target, table, &columns, batch)
            .await
            .map_err(fail)?;
    }
    Ok(rows.len() as u64)
}

/// One multi-row INSERT of `batch`, every column explicit.
async fn insert_batch(
    target: &mut Conn,
    table: &Table,
    columns: &str,
    batch: &[Vec<Value>],
) -> Result<(), String> {
    let width = table.columns.len();
    let tuples = (0..batch.len())
        .map(|r| {
            let params = (1..=width)
                .map(|c| format!("${}", r * width + c))
                .collect::<Vec<_>>()
                .join(", ");
            format!("({params})")
        })
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "INSERT INTO {} ({columns}) VALUES {tuples}",
        quoted(&table.name)
    );
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for row in batch {
        for (value, column) in row.iter().zip(&table.columns) {
            query = values::bind(query, value, column)
                .map_err(|e| format!("column {}: {e}", column.name))?;
        }
    }
    query
        .execute(&mut *target)
        .await
        .map_err(|e| format!("writing the target: {e}"))?;
    Ok(())
}

/// Orders a table's rows so that a row another row of the same table references (a group's
/// parent group) is inserted first; the source's order otherwise.
fn parents_first(table: &Table, rows: Vec<Vec<Value>>) -> Result<Vec<Vec<Value>>, String> {
    let index_of = |name: &str| table.columns.iter().position(|c| c.name == name);
    let mut parents_of: Vec<Vec<usize>> = vec![Vec::new(); rows.len()];
    for fk in table.self_references() {
        let pairs = fk
            .columns
            .iter()
            .map(|(from, to)| Some((index_of(from)?, index_of(to)?)))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| format!("a foreign key names a column {} does not have", table.name))?;
        let key = |row: &[Value], pick: &dyn Fn(&(usize, usize)) -> usize| -> Option<String> {
            let parts: Vec<&Value> = pairs.iter().map(|p| &row[pick(p)]).collect();
            (!parts.contains(&&Value::Null)).then(|| {
                parts
                    .iter()
                    .map(|v| v.key_text())
                    .collect::<Vec<_>>()
                    .join("\u{1f}")
            })
        };
        let by_key: BTreeMap<String, usize> = rows
            .iter()
            .enumerate()
            .filter_map(|(i, row)| Some((key(row, &|p| p.1)?, i)))
            .collect();
        for (i, row) in rows.iter().enumerate() {
            if let Some(parent) = key(row, &|p| p.0).and_then(|k| by_key.get(&k))
                && *parent != i
            {
                parents_of[i].push(*parent);
            }
        }
    }
    let mut waiting: Vec<usize> = parents_of.iter().map(Vec::len).collect();
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); rows.len()];
    for (child, parents) in parents_of.iter().enumerate() {
        for &p in parents {
            children[p].push(child);
        }
    }
    let mut ready: VecDeque<usize> = (0..rows.len()).filter(|&i| waiting[i] == 0).collect();
    let mut order = Vec::with_capacity(rows.len());
    while let Some(i) = ready.pop_front() {
        order.push(i);
        for &c in &children[i] {
            waiting[c] -= 1;
            if waiting[c] == 0 {
                ready.push_back(c);
            }
        }
    }
    if order.len() != rows.len() {
        return Err("its rows reference each other in a cycle".into());
    }
    let mut slots: Vec<Option<Vec<Value>>> = rows.into_iter().map(Some).collect();
    Ok(order.into_iter().filter_map(|i| slots[i].take()).collect())
}

/// An identifier quoted for both engines (latchkey's names never contain a quote).
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::schema::{Column, ColumnKind, ForeignKey};
    use super::*;

    fn groups() -> Table {
        let column = |name: &str| Column {
            name: name.into(),
            kind: ColumnKind::Text,
        };
        Table {
            name: "groups".into(),
            columns: vec![column("id"), column("parent_id")],
            foreign_keys: vec![ForeignKey {
                parent: "groups".into(),
                columns: vec![("parent_id".into(), "id".into())],
            }],
        }
    }

    fn row(id: &str, parent: Option<&str>) -> Vec<Value> {
        vec![
            Value::Text(id.into()),
            parent.map_or(Value::Null, |p| Value::Text(p.into())),
        ]
    }

    #[test]
    fn a_parent_row_goes_before_the_rows_that_reference_it() {
        let rows = vec![
            row("grandchild", Some("child")),
            row("child", Some("root")),
            row("root", None),
            row("other", None),
        ];
        let ordered = parents_first(&groups(), rows).expect("order");
        let ids: Vec<&Value> = ordered.iter().map(|r| &r[0]).collect();
        let pos = |id: &str| ids.iter().position(|v| **v == Value::Text(id.into()));
        assert!(
            pos("root") < pos("child") && pos("child") < pos("grandchild"),
            "{ids:?}"
        );
        assert_eq!(ordered.len(), 4);
    }

    #[test]
    fn rows_referencing_each_other_in_a_cycle_are_refused() {
        let rows = vec![row("a", Some("b")), row("b", Some("a"))];
        let err = parents_first(&groups(), rows).expect_err("a cycle");
        assert!(err.contains("cycle"), "{err}");
    }

    #[test]
    fn the_report_lists_each_table_with_rows_on_its_own_line() {
        let report = CopyReport {
            tables: vec![
                ("users".into(), 2),
                ("events".into(), 0),
                ("groups".into(), 1),
            ],
        };
        assert_eq!(report.to_string(), "users: 2 rows\ngroups: 1 row\n");
        assert_eq!(report.total_rows(), 3);
    }

    #[test]
    fn a_refused_location_names_the_flag_it_came_from() {
        let err = parse_location("--to", "mysql://u@h/db").expect_err("refused");
        let text = err.to_string();
        assert!(text.starts_with("--to mysql://"), "{text}");
        assert!(!text.contains("--db"), "{text}");
    }
}
