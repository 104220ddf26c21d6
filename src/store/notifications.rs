//! authentik's notifications: transports and rules (admin objects, written through
//! [`super::objects`]), the notifications users received, the delivery queue, and the claim of
//! new events. Every statement runs on both engines; the claims are conditional UPDATEs, so
//! with several servers on one store each event and each due delivery goes to one of them.

use std::collections::HashMap;

use sqlx::AssertSqlSafe;

use super::rows::{self, DomainRow, Query, TableRow, json_or_empty, parse_enum, parse_json};
use super::{Conn, StoreResult};
use crate::domain::{Event, Notification, NotificationRule, NotificationTransport};

#[derive(sqlx::FromRow)]
struct TransportRow {
    id: String,
    name: String,
    mode: String,
    webhook_url: String,
    #[sqlx(try_from = "super::engine::Flag")]
    send_once: bool,
    created_at: i64,
    updated_at: i64,
    version: i64,
}

const TRANSPORT_COLS: &str =
    "id, name, mode, webhook_url, send_once, created_at, updated_at, version";

impl TableRow for TransportRow {
    const COLUMNS: &'static str = TRANSPORT_COLS;
    const TABLE: &'static str = "notification_transports";
}

impl DomainRow for TransportRow {
    type Domain = NotificationTransport;
    fn into_domain(self) -> StoreResult<NotificationTransport> {
        let what = format!("notification transport {}", self.name);
        Ok(NotificationTransport {
            mode: parse_enum(&what, &self.mode)?,
            id: self.id,
            name: self.name,
            webhook_url: self.webhook_url,
            send_once: self.send_once,
            created_at: self.created_at,
            updated_at: self.updated_at,
            version: self.version,
        })
    }
}

/// Every notification transport, by name.
pub async fn list_transports(conn: &mut Conn) -> StoreResult<Vec<NotificationTransport>> {
    rows::select_all::<TransportRow>(conn, "ORDER BY name", &[]).await
}

/// One transport by id.
pub async fn get_transport(
    conn: &mut Conn,
    id: &str,
) -> StoreResult<Option<NotificationTransport>> {
    rows::select_one::<TransportRow>(conn, "WHERE id = $1", id).await
}

fn bind_transport<'q>(q: Query<'q>, t: &'q NotificationTransport) -> Query<'q> {
    q.bind(&t.name)
        .bind(t.mode.as_str())
        .bind(&t.webhook_url)
        .bind(t.send_once)
}

/// Inserts a transport.
pub async fn insert_transport(conn: &mut Conn, t: &NotificationTransport) -> StoreResult<()> {
    let sql = format!(
        "INSERT INTO notification_transports ({TRANSPORT_COLS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)"
    );
    let q = bind_transport(sqlx::query(AssertSqlSafe(sql)).bind(&t.id), t);
    let q = q.bind(t.created_at).bind(t.updated_at).bind(t.version);
    rows::insert_object(conn, q, |_| t.name.clone()).await
}

/// Updates a transport with an optimistic version check.
pub async fn update_transport(conn: &mut Conn, t: &NotificationTransport) -> StoreResult<()> {
    let sql = "UPDATE notification_transports SET name=$1, mode=$2, webhook_url=$3, \
               send_once=$4, updated_at=$5, version=version+1 WHERE id=$6 AND version=$7";
    let q = bind_transport(sqlx::query(sql), t);
    let q = q.bind(t.updated_at).bind(&t.id).bind(t.version);
    let what = format!("notification transport {}", t.name);
    rows::update_object(conn, q, &what, |_| t.name.clone()).await
}

/// Deletes a transport (rules drop it, its queued deliveries go with it).
pub async fn delete_transport(conn: &mut Conn, id: &str) -> StoreResult<()> {
    rows::delete_by_id(conn, "notification_transports", id).await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct RuleRow {
    id: String,
    name: String,
    severity: String,
    destination_group_id: Option<String>,
    #[sqlx(try_from = "super::engine::Flag")]
    destination_event_user: bool,
    created_at: i64,
    updated_at: i64,
    version: i64,
}

const RULE_COLS: &str = "id, name, severity, destination_group_id, destination_event_user, \
                         created_at, updated_at, version";

impl TableRow for RuleRow {
    const COLUMNS: &'static str = RULE_COLS;
    const TABLE: &'static str = "notification_rules";
}

impl DomainRow for RuleRow {
    type Domain = NotificationRule;
    fn into_domain(self) -> StoreResult<NotificationRule> {
        let what = format!("notification rule {}", self.name);
        Ok(NotificationRule {
            severity: parse_enum(&what, &self.severity)?,
            id: self.id,
            name: self.name,
            destination_group_id: self.destination_group_id,
            destination_event_user: self.destination_event_user,
            transport_ids: Vec::new(),
            created_at: self.created_at,
            updated_at: self.updated_at,
            version: self.version,
        })
    }
}

/// Every notification rule by name, each with its transports (sorted ids).
pub async fn list_rules(conn: &mut Conn) -> StoreResult<Vec<NotificationRule>> {
    let mut rules = rows::select_all::<RuleRow>(conn, "ORDER BY name", &[]).await?;
    let pairs: Vec<(String, String)> = sqlx::query_as(
        "SELECT rule_id, transport_id FROM notification_rule_transports \
         ORDER BY rule_id, transport_id",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut by_rule: HashMap<String, Vec<String>> = HashMap::new();
    for (rule, transport) in pairs {
        by_rule.entry(rule).or_default().push(transport);
    }
    for rule in &mut rules {
        rule.transport_ids = by_rule.remove(&rule.id).unwrap_or_default();
    }
    Ok(rules)
}

fn bind_rule<'q>(q: Query<'q>, r: &'q NotificationRule) -> Query<'q> {
    q.bind(&r.name)
        .bind(r.severity.as_str())
        .bind(&r.destination_group_id)
        .bind(r.destination_event_user)
}

async fn set_rule_transports(conn: &mut Conn, r: &NotificationRule) -> StoreResult<()> {
    sqlx::query("DELETE FROM notification_rule_transports WHERE rule_id = $1")
        .bind(&r.id)
        .execute(&mut *conn)
        .await?;
    for transport in &r.transport_ids {
        sqlx::query(
            "INSERT INTO notification_rule_transports (rule_id, transport_id) VALUES ($1, $2) \
             ON CONFLICT DO NOTHING",
        )
        .bind(&r.id)
        .bind(transport)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Inserts a rule with its transports.
pub async fn insert_rule(conn: &mut Conn, r: &NotificationRule) -> StoreResult<()> {
    let sql =
        format!("INSERT INTO notification_rules ({RULE_COLS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)");
    let q = bind_rule(sqlx::query(AssertSqlSafe(sql)).bind(&r.id), r);
    let q = q.bind(r.created_at).bind(r.updated_at).bind(r.version);
    rows::insert_object(&mut *conn, q, |_| r.name.clone()).await?;
    set_rule_transports(conn, r).await
}

/// Updates a rule (optimistic version check) and sets its transports to exactly the listed ones.
pub async fn update_rule(conn: &mut Conn, r: &NotificationRule) -> StoreResult<()> {
    let sql = "UPDATE notification_rules SET name=$1, severity=$2, destination_group_id=$3, \
               destination_event_user=$4, updated_at=$5, version=version+1 \
               WHERE id=$6 AND version=$7";
    let q = bind_rule(sqlx::query(sql), r);
    let q = q.bind(r.updated_at).bind(&r.id).bind(r.version);
    let what = format!("notification rule {}", r.name);
    rows::update_object(&mut *conn, q, &what, |_| r.name.clone()).await?;
    set_rule_transports(conn, r).await
}

/// Deletes a rule and the policy bindings that target it.
pub async fn delete_rule(conn: &mut Conn, id: &str) -> StoreResult<()> {
    sqlx::query("DELETE FROM policy_bindings WHERE target_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    rows::delete_by_id(conn, "notification_rules", id).await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct NotificationRow {
    id: String,
    user_id: String,
    rule_id: Option<String>,
    severity: String,
    body: String,
    event_id: Option<String>,
    event: String,
    #[sqlx(try_from = "super::engine::Flag")]
    seen: bool,
    created_at: i64,
}

const NOTIFICATION_COLS: &str =
    "id, user_id, rule_id, severity, body, event_id, event, seen, created_at";

impl TableRow for NotificationRow {
    const COLUMNS: &'static str = NOTIFICATION_COLS;
    const TABLE: &'static str = "notifications";
}

impl DomainRow for NotificationRow {
    type Domain = Notification;
    fn into_domain(self) -> StoreResult<Notification> {
        let what = format!("notification {}", self.id);
        Ok(Notification {
            severity: parse_enum(&what, &self.severity)?,
            event: parse_json(&what, &self.event)?,
            id: self.id,
            user_id: self.user_id,
            rule_id: self.rule_id,
            body: self.body,
            event_id: self.event_id,
            seen: self.seen,
            created_at: self.created_at,
        })
    }
}

/// Records a notification a user received.
pub async fn insert_notification(conn: &mut Conn, n: &Notification) -> StoreResult<()> {
    let sql = format!(
        "INSERT INTO notifications ({NOTIFICATION_COLS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)"
    );
    sqlx::query(AssertSqlSafe(sql))
        .bind(&n.id)
        .bind(&n.user_id)
        .bind(&n.rule_id)
        .bind(n.severity.as_str())
        .bind(&n.body)
        .bind(&n.event_id)
        .bind(json_or_empty(&n.event))
        .bind(n.seen)
        .bind(n.created_at)
        .execute(conn)
        .await?;
    Ok(())
}

/// One notification by id.
pub async fn get_notification(conn: &mut Conn, id: &str) -> StoreResult<Option<Notification>> {
    rows::select_one::<NotificationRow>(conn, "WHERE id = $1", id).await
}

/// A user's notifications, newest first.
pub async fn of_user(conn: &mut Conn, user_id: &str) -> StoreResult<Vec<Notification>> {
    rows::select_all::<NotificationRow>(
        conn,
        "WHERE user_id = $1 ORDER BY created_at DESC, id DESC",
        &[user_id],
    )
    .await
}

/// Every notification, newest first (the console groups them by user).
pub async fn all(conn: &mut Conn) -> StoreResult<Vec<Notification>> {
    rows::select_all::<NotificationRow>(conn, "ORDER BY created_at DESC, id DESC", &[]).await
}

/// One queued delivery: a notification to send through a transport.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Delivery {
    pub id: String,
    pub transport_id: String,
    pub notification_id: String,
    /// Attempts made before this one.
    pub attempts: i64,
}

/// Queues a delivery, due at `due_ms` (unix milliseconds).
pub async fn enqueue(
    conn: &mut Conn,
    id: &str,
    transport_id: &str,
    notification_id: &str,
    due_ms: i64,
    now: i64,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO notification_deliveries (id, transport_id, notification_id, attempts, \
         next_attempt_ms, last_error, created_at) VALUES ($1, $2, $3, 0, $4, '', $5)",
    )
    .bind(id)
    .bind(transport_id)
    .bind(notification_id)
    .bind(due_ms)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Claims up to `limit` deliveries due at `now_ms`: each claimed one is not due again before
/// `lease_until_ms`, so no other notifier sends it meanwhile (and one that crashed mid-send is
/// tried again after the lease).
pub async fn claim_due(
    conn: &mut Conn,
    now_ms: i64,
    lease_until_ms: i64,
    limit: i64,
) -> StoreResult<Vec<Delivery>> {
    Ok(sqlx::query_as(
        "UPDATE notification_deliveries SET next_attempt_ms = $1 \
         WHERE id IN (SELECT id FROM notification_deliveries WHERE next_attempt_ms <= $2 \
                      ORDER BY next_attempt_ms, id LIMIT $3) \
           AND next_attempt_ms <= $2 \
         RETURNING id, transport_id, notification_id, attempts",
    )
    .bind(lease_until_ms)
    .bind(now_ms)
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

/// After a failed attempt: one more attempt counted, the next due at `next_ms`.
pub async fn reschedule(
    conn: &mut Conn,
    id: &str,
    attempts: i64,
    next_ms: i64,
    error: &str,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE notification_deliveries SET attempts = $1, next_attempt_ms = $2, \
         last_error = $3 WHERE id = $4",
    )
    .bind(attempts)
    .bind(next_ms)
    .bind(error)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Removes a delivery (sent, or given up).
pub async fn remove_delivery(conn: &mut Conn, id: &str) -> StoreResult<()> {
    rows::delete_by_id(conn, "notification_deliveries", id).await?;
    Ok(())
}

/// Every queued delivery (the tests read the queue through it).
pub async fn pending_deliveries(conn: &mut Conn) -> StoreResult<Vec<Delivery>> {
    Ok(sqlx::query_as(
        "SELECT id, transport_id, notification_id, attempts \
         FROM notification_deliveries ORDER BY created_at, id",
    )
    .fetch_all(conn)
    .await?)
}

/// Claims up to `limit` events no notifier has looked at yet, oldest first: the conditional
/// UPDATE gives each event to exactly one caller, even with several servers on one store.
pub async fn claim_new_events(conn: &mut Conn, limit: i64) -> StoreResult<Vec<Event>> {
    let rows: Vec<super::events::Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE events SET notified = 1 \
         WHERE id IN (SELECT id FROM events WHERE notified = 0 \
                      ORDER BY created_at, id LIMIT $1) \
           AND notified = 0 \
         RETURNING {}",
        super::events::COLUMNS
    )))
    .bind(limit)
    .fetch_all(conn)
    .await?;
    let mut events = rows
        .into_iter()
        .map(super::events::Row::into_domain)
        .collect::<StoreResult<Vec<Event>>>()?;
    // RETURNING's order is unspecified: hand them over oldest first.
    events.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    Ok(events)
}
