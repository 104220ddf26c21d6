//! Groups and membership.

use super::Conn;

use super::StoreResult;
use super::rows::{self, DomainRow, Query, TableRow, json_or_empty, parse_json};
use crate::domain::Group;

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    name: String,
    #[sqlx(try_from = "super::engine::Flag")]
    is_superuser: bool,
    parent_id: Option<String>,
    attributes: String,
    member_count: i64,
    created_at: i64,
    updated_at: i64,
    version: i64,
}

impl DomainRow for Row {
    type Domain = Group;
    fn into_domain(self) -> StoreResult<Group> {
        Ok(Group {
            attributes: parse_json(&format!("group {}", self.name), &self.attributes)?,
            id: self.id,
            name: self.name,
            is_superuser: self.is_superuser,
            parent_id: self.parent_id,
            member_count: self.member_count,
            created_at: self.created_at,
            updated_at: self.updated_at,
            version: self.version,
        })
    }
}

impl TableRow for Row {
    const COLUMNS: &'static str = "g.id, g.name, g.is_superuser, g.parent_id, g.attributes, \
        (SELECT count(*) FROM group_members m WHERE m.group_id = g.id) AS member_count, \
        g.created_at, g.updated_at, g.version";
    const TABLE: &'static str = "groups g";
}

/// Every group, by name.
pub async fn list(conn: &mut Conn) -> StoreResult<Vec<Group>> {
    rows::select_all::<Row>(conn, "ORDER BY g.name", &[]).await
}

/// One group by name.
pub async fn get_by_name(conn: &mut Conn, name: &str) -> StoreResult<Option<Group>> {
    rows::select_one::<Row>(conn, "WHERE g.name = $1", name).await
}

/// The groups a user belongs to directly.
pub async fn of_user(conn: &mut Conn, user_id: &str) -> StoreResult<Vec<Group>> {
    let tail = "JOIN group_members gm ON gm.group_id = g.id WHERE gm.user_id = $1 ORDER BY g.name";
    rows::select_all::<Row>(conn, tail, &[user_id]).await
}

/// True when the user is in a superuser group (directly or through a parent group).
pub async fn is_superuser(conn: &mut Conn, user_id: &str) -> StoreResult<bool> {
    let found: Option<i64> = sqlx::query_scalar(
        "WITH RECURSIVE g(id, parent_id, is_superuser) AS ( \
           SELECT groups.id, groups.parent_id, groups.is_superuser FROM groups \
           JOIN group_members m ON m.group_id = groups.id WHERE m.user_id = $1 \
           UNION SELECT p.id, p.parent_id, p.is_superuser FROM groups p JOIN g ON g.parent_id = p.id) \
         SELECT 1 FROM g WHERE is_superuser = TRUE LIMIT 1",
    )
    .bind(user_id)
    .fetch_optional(conn)
    .await?;
    Ok(found.is_some())
}

/// Binds the columns an insert and an update both write (name to attributes).
fn bind_fields<'q>(q: Query<'q>, g: &'q Group) -> Query<'q> {
    q.bind(&g.name)
        .bind(g.is_superuser)
        .bind(&g.parent_id)
        .bind(json_or_empty(&g.attributes))
}

/// Inserts a group.
pub async fn insert(conn: &mut Conn, g: &Group) -> StoreResult<()> {
    let sql = "INSERT INTO groups (id, name, is_superuser, parent_id, attributes, created_at, \
         updated_at, version) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)";
    let q = bind_fields(sqlx::query(sql).bind(&g.id), g);
    let q = q.bind(g.created_at).bind(g.updated_at).bind(g.version);
    rows::insert_object(conn, q, |_| g.name.clone()).await
}

/// Updates a group with an optimistic version check.
pub async fn update(conn: &mut Conn, g: &Group) -> StoreResult<()> {
    let sql = "UPDATE groups SET name=$1, is_superuser=$2, parent_id=$3, attributes=$4, updated_at=$5, \
         version=version+1 WHERE id=$6 AND version=$7";
    let q = bind_fields(sqlx::query(sql), g);
    let q = q.bind(g.updated_at).bind(&g.id).bind(g.version);
    rows::update_object(conn, q, &format!("group {}", g.name), |_| g.name.clone()).await
}

/// Deletes a group.
pub async fn delete(conn: &mut Conn, id: &str) -> StoreResult<()> {
    rows::delete_by_id(conn, "groups", id).await?;
    Ok(())
}

/// Adds a user to a group (no-op when already a member).
pub async fn add_member(conn: &mut Conn, group_id: &str, user_id: &str) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO group_members (group_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(group_id)
    .bind(user_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Removes a user from a group.
pub async fn remove_member(conn: &mut Conn, group_id: &str, user_id: &str) -> StoreResult<()> {
    sqlx::query("DELETE FROM group_members WHERE group_id = $1 AND user_id = $2")
        .bind(group_id)
        .bind(user_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Every `(user id, group id)` membership.
pub async fn all_memberships(conn: &mut Conn) -> StoreResult<Vec<(String, String)>> {
    Ok(
        sqlx::query_as("SELECT user_id, group_id FROM group_members ORDER BY user_id, group_id")
            .fetch_all(conn)
            .await?,
    )
}

/// The ids of a group's direct members, sorted (blueprint `users` and membership diffs).
pub async fn member_ids(conn: &mut Conn, group_id: &str) -> StoreResult<Vec<String>> {
    Ok(
        sqlx::query_scalar(
            "SELECT user_id FROM group_members WHERE group_id = $1 ORDER BY user_id",
        )
        .bind(group_id)
        .fetch_all(conn)
        .await?,
    )
}
