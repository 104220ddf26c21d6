//! Users and their password hashes.

use super::Conn;

use super::StoreResult;
use super::rows::{self, DomainRow, Query, TableRow, json_or_empty, parse_enum, parse_json};
use crate::domain::User;

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    username: String,
    name: String,
    email: String,
    #[sqlx(try_from = "super::engine::Flag")]
    is_active: bool,
    user_type: String,
    path: String,
    attributes: String,
    #[sqlx(try_from = "super::engine::Flag")]
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
pub async fn list(conn: &mut Conn) -> StoreResult<Vec<User>> {
    rows::select_all::<Row>(conn, "ORDER BY username", &[]).await
}

/// One user by id.
pub async fn get(conn: &mut Conn, id: &str) -> StoreResult<Option<User>> {
    rows::select_one::<Row>(conn, "WHERE id = $1", id).await
}

/// One user by exact username.
pub async fn get_by_username(conn: &mut Conn, username: &str) -> StoreResult<Option<User>> {
    rows::select_one::<Row>(conn, "WHERE username = $1", username).await
}

/// The stored argon2id hash, if the user has a password.
pub async fn password_hash(conn: &mut Conn, id: &str) -> StoreResult<Option<String>> {
    let hash: Option<Option<String>> =
        sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
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
pub async fn insert(conn: &mut Conn, u: &User, password_hash: Option<&str>) -> StoreResult<()> {
    let sql = "INSERT INTO users (id, username, name, email, is_active, user_type, path, \
         attributes, password_hash, password_changed_at, last_login, created_at, updated_at, \
         version) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)";
    let q = bind_profile(sqlx::query(sql).bind(&u.id), u)
        .bind(password_hash)
        .bind(password_hash.map(|_| u.created_at))
        .bind(u.last_login);
    let q = q.bind(u.created_at).bind(u.updated_at).bind(u.version);
    rows::insert_object(conn, q, |_| u.username.clone()).await
}

/// Updates a user's profile fields with an optimistic version check.
pub async fn update(conn: &mut Conn, u: &User) -> StoreResult<()> {
    let sql = "UPDATE users SET username=$1, name=$2, email=$3, is_active=$4, user_type=$5, path=$6, \
         attributes=$7, updated_at=$8, version=version+1 WHERE id=$9 AND version=$10";
    let q = bind_profile(sqlx::query(sql), u);
    let q = q.bind(u.updated_at).bind(&u.id).bind(u.version);
    rows::update_object(conn, q, &format!("user {}", u.username), |_| {
        u.username.clone()
    })
    .await
}

/// Replaces a user's password hash.
pub async fn set_password_hash(conn: &mut Conn, id: &str, hash: &str, now: i64) -> StoreResult<()> {
    sqlx::query(
        "UPDATE users SET password_hash=$1, password_changed_at=$2, updated_at=$3, version=version+1 \
         WHERE id=$4",
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
pub async fn delete(conn: &mut Conn, id: &str) -> StoreResult<()> {
    rows::delete_by_id(conn, "users", id).await?;
    Ok(())
}

/// Number of users.
pub async fn count(conn: &mut Conn) -> StoreResult<i64> {
    Ok(sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(conn)
        .await?)
}
