//! The audit event log: recording, the newest events, and the audit trail's filtered and
//! "newer than a cursor" queries (indexed: migration 0039).

use super::Conn;

use super::StoreResult;
use super::rows::{json_or_empty, parse_json};
use crate::domain::{Event, EventCursor, EventFilter, UserMatch};

/// One stored event (also decoded by the notifier's claim, `notifications.rs`).
#[derive(sqlx::FromRow)]
pub(super) struct Row {
    id: String,
    action: String,
    username: String,
    user_id: Option<String>,
    app: String,
    client_ip: String,
    origin: String,
    context: String,
    brand: String,
    created_at: i64,
}

impl Row {
    pub(super) fn into_domain(self) -> StoreResult<Event> {
        Ok(Event {
            context: parse_json(&format!("event {}", self.id), &self.context)?,
            id: self.id,
            action: self.action,
            username: self.username,
            user_id: self.user_id,
            app: self.app,
            client_ip: self.client_ip,
            origin: self.origin,
            brand: self.brand,
            created_at: self.created_at,
        })
    }
}

/// Default retention, as authentik's `event_retention`.
pub const RETENTION_SECONDS: i64 = 365 * 86400;

/// Records an event.
pub async fn insert(conn: &mut Conn, e: &Event) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO events (id, action, username, user_id, app, client_ip, origin, context, \
         brand, created_at, expires_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)",
    )
    .bind(&e.id)
    .bind(&e.action)
    .bind(&e.username)
    .bind(&e.user_id)
    .bind(&e.app)
    .bind(&e.client_ip)
    .bind(&e.origin)
    .bind(json_or_empty(&e.context))
    .bind(&e.brand)
    .bind(e.created_at)
    .bind(e.created_at + RETENTION_SECONDS)
    .execute(conn)
    .await?;
    Ok(())
}

/// The columns [`Row`] reads.
pub(super) const COLUMNS: &str =
    "id, action, username, user_id, app, client_ip, origin, context, brand, created_at";

/// The newest `limit` events, newest first.
pub async fn recent(conn: &mut Conn, limit: i64) -> StoreResult<Vec<Event>> {
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM events ORDER BY created_at DESC, id DESC LIMIT $1"
    )))
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(Row::into_domain).collect()
}

/// The newest events `filter` lets through, newest first, at most its limit. Exact criteria
/// use the `(column, created_at)` indexes; a username substring walks `created_at` newest
/// first and stops at the limit.
pub async fn query(conn: &mut Conn, filter: &EventFilter) -> StoreResult<Vec<Event>> {
    let mut q = Where::of(filter);
    let limit = q.arg(Arg::Int(filter.effective_limit()));
    let sql = format!(
        "SELECT {COLUMNS} FROM events{} ORDER BY created_at DESC, id DESC LIMIT {limit}",
        q.clause()
    );
    q.fetch(conn, sql).await
}

/// The events `filter` lets through that come after `cursor` in `(created_at, id)` order,
/// oldest first, at most the filter's limit: what a follower has not read yet.
pub async fn after(
    conn: &mut Conn,
    filter: &EventFilter,
    cursor: &EventCursor,
) -> StoreResult<Vec<Event>> {
    let mut q = Where::of(filter);
    let at = q.arg(Arg::Int(cursor.created_at));
    let id = q.arg(Arg::Text(cursor.id.clone()));
    q.terms.push(format!(
        "(created_at > {at} OR (created_at = {at} AND id > {id}))"
    ));
    let limit = q.arg(Arg::Int(filter.effective_limit()));
    let sql = format!(
        "SELECT {COLUMNS} FROM events{} ORDER BY created_at, id LIMIT {limit}",
        q.clause()
    );
    q.fetch(conn, sql).await
}

/// A bound value of a built query.
enum Arg {
    Text(String),
    Int(i64),
}

/// A `WHERE` clause built from a filter, with its values bound by number (`$1`, `$2`, …, which
/// both engines read).
struct Where {
    terms: Vec<String>,
    args: Vec<Arg>,
}

impl Where {
    fn of(f: &EventFilter) -> Self {
        let mut w = Self {
            terms: Vec::new(),
            args: Vec::new(),
        };
        if !f.actions.is_empty() {
            let list: Vec<String> = f
                .actions
                .iter()
                .map(|a| w.arg(Arg::Text(a.clone())))
                .collect();
            w.terms.push(format!("action IN ({})", list.join(", ")));
        }
        match &f.user {
            Some(UserMatch::Exact(u)) => {
                let p = w.arg(Arg::Text(u.clone()));
                w.terms.push(format!("username = {p}"));
            }
            Some(UserMatch::Contains(u)) => {
                let p = w.arg(Arg::Text(format!("%{}%", like_escape(&u.to_lowercase()))));
                w.terms
                    .push(format!("LOWER(username) LIKE {p} ESCAPE '\\'"));
            }
            None => {}
        }
        if let Some(app) = &f.app {
            let p = w.arg(Arg::Text(app.clone()));
            w.terms.push(format!("app = {p}"));
        }
        if let Some(ip) = &f.client_ip {
            let p = w.arg(Arg::Text(ip.clone()));
            w.terms.push(format!("client_ip = {p}"));
        }
        if let Some(origin) = &f.origin {
            let exact = w.arg(Arg::Text(origin.clone()));
            if origin.contains(' ') {
                w.terms.push(format!("origin = {exact}"));
            } else {
                let qualified = w.arg(Arg::Text(format!("{} %", like_escape(origin))));
                w.terms.push(format!(
                    "(origin = {exact} OR origin LIKE {qualified} ESCAPE '\\')"
                ));
            }
        }
        if let Some(t) = f.since {
            let p = w.arg(Arg::Int(t));
            w.terms.push(format!("created_at >= {p}"));
        }
        if let Some(t) = f.until {
            let p = w.arg(Arg::Int(t));
            w.terms.push(format!("created_at < {p}"));
        }
        w
    }

    /// Binds `a` and returns its placeholder.
    fn arg(&mut self, a: Arg) -> String {
        self.args.push(a);
        format!("${}", self.args.len())
    }

    fn clause(&self) -> String {
        if self.terms.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.terms.join(" AND "))
        }
    }

    async fn fetch(self, conn: &mut Conn, sql: String) -> StoreResult<Vec<Event>> {
        let mut q = sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(sql));
        for a in self.args {
            q = match a {
                Arg::Text(s) => q.bind(s),
                Arg::Int(i) => q.bind(i),
            };
        }
        let rows = q.fetch_all(conn).await?;
        rows.into_iter().map(Row::into_domain).collect()
    }
}

/// `text` with LIKE's wildcards and the escape character escaped (`ESCAPE '\'`).
fn like_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
