//! The audit event log.

use super::Conn;

use super::StoreResult;
use super::rows::{json_or_empty, parse_json};
use crate::domain::Event;

#[derive(sqlx::FromRow)]
struct Row {
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
    fn into_domain(self) -> StoreResult<Event> {
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

/// The newest `limit` events, newest first.
pub async fn recent(conn: &mut Conn, limit: i64) -> StoreResult<Vec<Event>> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, action, username, user_id, app, client_ip, origin, context, brand, created_at \
         FROM events ORDER BY created_at DESC, id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(Row::into_domain).collect()
}
