//! Users and their password hashes.

use sqlx::{AssertSqlSafe, SqliteConnection};

use super::StoreResult;
use super::rows::{check_updated, json_or_empty, parse_enum, parse_json, with_value};
use crate::domain::User;

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    username: String,
    name: String,
    email: String,
    is_active: bool,
    user_type: String,
    path: String,
    attributes: String,
    has_password: bool,
    last_login: Option<i64>,
    created_at: i64,
    updated_at: i64,
    version: i64,
}

impl Row {
    fn into_domain(self) -> StoreResult<User> {
        let what = format!("user {}", self.username);
        Ok(User {
            user_type: parse_enum(&what, &self.user_type)?,
            attributes: parse_json(&what, &self.attributes)?,
            id: self.id,
            username: self.username,
            name: self.name,
            email: self.email,
            is_active: self.is_active,
            path: self.path,
            has_password: self.has_password,
            last_login: self.last_login,
            created_at: self.created_at,
            updated_at: self.updated_at,
            version: self.version,
        })
    }
}

const SELECT: &str = "SELECT id, username, name, email, is_active, user_type, path, attributes, \
    password_hash IS NOT NULL AS has_password, last_login, created_at, updated_at, version FROM users";

/// Every user, by username.
pub async fn list(conn: &mut SqliteConnection) -> StoreResult<Vec<User>> {
    let rows: Vec<Row> = sqlx::query_as(AssertSqlSafe(format!("{SELECT} ORDER BY username")))
        .fetch_all(conn)
        .await?;
    rows.into_iter().map(Row::into_domain).collect()
}

/// One user by id.
pub async fn get(conn: &mut SqliteConnection, id: &str) -> StoreResult<Option<User>> {
    let row: Option<Row> = sqlx::query_as(AssertSqlSafe(format!("{SELECT} WHERE id = ?")))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.map(Row::into_domain).transpose()
}

/// One user by exact username.
pub async fn get_by_username(
    conn: &mut SqliteConnection,
    username: &str,
) -> StoreResult<Option<User>> {
    let row: Option<Row> = sqlx::query_as(AssertSqlSafe(format!("{SELECT} WHERE username = ?")))
        .bind(username)
        .fetch_optional(conn)
        .await?;
    row.map(Row::into_domain).transpose()
}

/// The stored argon2id hash, if the user has a password.
pub async fn password_hash(conn: &mut SqliteConnection, id: &str) -> StoreResult<Option<String>> {
    let hash: Option<Option<String>> =
        sqlx::query_scalar("SELECT password_hash FROM users WHERE id = ?")
            .bind(id)
            .fetch_optional(conn)
            .await?;
    Ok(hash.flatten())
}

/// Inserts a user, with an already-hashed password (never a raw one).
pub async fn insert(
    conn: &mut SqliteConnection,
    u: &User,
    password_hash: Option<&str>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO users (id, username, name, email, password_hash, password_changed_at, \
         is_active, user_type, path, attributes, last_login, created_at, updated_at, version) \
         VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    )
    .bind(&u.id)
    .bind(&u.username)
    .bind(&u.name)
    .bind(&u.email)
    .bind(password_hash)
    .bind(password_hash.map(|_| u.created_at))
    .bind(u.is_active)
    .bind(u.user_type.as_str())
    .bind(&u.path)
    .bind(json_or_empty(&u.attributes))
    .bind(u.last_login)
    .bind(u.created_at)
    .bind(u.updated_at)
    .bind(u.version)
    .execute(conn)
    .await
    .map_err(|e| with_value(e.into(), |_| u.username.clone()))?;
    Ok(())
}

/// Updates a user's profile fields with an optimistic version check.
pub async fn update(conn: &mut SqliteConnection, u: &User) -> StoreResult<()> {
    let res = sqlx::query(
        "UPDATE users SET username=?, name=?, email=?, is_active=?, user_type=?, path=?, \
         attributes=?, updated_at=?, version=version+1 WHERE id=? AND version=?",
    )
    .bind(&u.username)
    .bind(&u.name)
    .bind(&u.email)
    .bind(u.is_active)
    .bind(u.user_type.as_str())
    .bind(&u.path)
    .bind(json_or_empty(&u.attributes))
    .bind(u.updated_at)
    .bind(&u.id)
    .bind(u.version)
    .execute(conn)
    .await
    .map_err(|e| with_value(e.into(), |_| u.username.clone()))?;
    check_updated(res.rows_affected(), &format!("user {}", u.username))
}

/// Replaces a user's password hash.
pub async fn set_password_hash(
    conn: &mut SqliteConnection,
    id: &str,
    hash: &str,
    now: i64,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE users SET password_hash=?, password_changed_at=?, updated_at=?, version=version+1 \
         WHERE id=?",
    )
    .bind(hash)
    .bind(now)
    .bind(now)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes a user.
pub async fn delete(conn: &mut SqliteConnection, id: &str) -> StoreResult<()> {
    sqlx::query("DELETE FROM users WHERE id = ?")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Number of users.
pub async fn count(conn: &mut SqliteConnection) -> StoreResult<i64> {
    Ok(sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(conn)
        .await?)
}
