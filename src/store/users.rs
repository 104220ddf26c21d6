//! Users and their password hashes.

use sqlx::SqliteConnection;

use super::StoreResult;
use super::rows::{self, DomainRow, Query, TableRow, json_or_empty, parse_enum, parse_json};
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

impl DomainRow for Row {
    type Domain = User;
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

impl TableRow for Row {
    const COLUMNS: &'static str = "id, username, name, email, is_active, user_type, path, \
        attributes, password_hash IS NOT NULL AS has_password, last_login, created_at, \
        updated_at, version";
    const TABLE: &'static str = "users";
}

/// Every user, by username.
pub async fn list(conn: &mut SqliteConnection) -> StoreResult<Vec<User>> {
    rows::select_all::<Row>(conn, "ORDER BY username", &[]).await
}

/// One user by id.
pub async fn get(conn: &mut SqliteConnection, id: &str) -> StoreResult<Option<User>> {
    rows::select_one::<Row>(conn, "WHERE id = ?", id).await
}

/// One user by exact username.
pub async fn get_by_username(
    conn: &mut SqliteConnection,
    username: &str,
) -> StoreResult<Option<User>> {
    rows::select_one::<Row>(conn, "WHERE username = ?", username).await
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

/// Binds the profile columns an insert and an update both write (username to attributes).
fn bind_profile<'q>(q: Query<'q>, u: &'q User) -> Query<'q> {
    q.bind(&u.username)
        .bind(&u.name)
        .bind(&u.email)
        .bind(u.is_active)
        .bind(u.user_type.as_str())
        .bind(&u.path)
        .bind(json_or_empty(&u.attributes))
}

/// Inserts a user, with an already-hashed password (never a raw one).
pub async fn insert(
    conn: &mut SqliteConnection,
    u: &User,
    password_hash: Option<&str>,
) -> StoreResult<()> {
    let sql = "INSERT INTO users (id, username, name, email, is_active, user_type, path, \
         attributes, password_hash, password_changed_at, last_login, created_at, updated_at, \
         version) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
    let q = bind_profile(sqlx::query(sql).bind(&u.id), u)
        .bind(password_hash)
        .bind(password_hash.map(|_| u.created_at))
        .bind(u.last_login);
    let q = q.bind(u.created_at).bind(u.updated_at).bind(u.version);
    rows::insert_object(conn, q, |_| u.username.clone()).await
}

/// Updates a user's profile fields with an optimistic version check.
pub async fn update(conn: &mut SqliteConnection, u: &User) -> StoreResult<()> {
    let sql = "UPDATE users SET username=?, name=?, email=?, is_active=?, user_type=?, path=?, \
         attributes=?, updated_at=?, version=version+1 WHERE id=? AND version=?";
    let q = bind_profile(sqlx::query(sql), u);
    let q = q.bind(u.updated_at).bind(&u.id).bind(u.version);
    rows::update_object(conn, q, &format!("user {}", u.username), |_| {
        u.username.clone()
    })
    .await
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
    rows::delete_by_id(conn, "users", id).await?;
    Ok(())
}

/// Number of users.
pub async fn count(conn: &mut SqliteConnection) -> StoreResult<i64> {
    Ok(sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(conn)
        .await?)
}
