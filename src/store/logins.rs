//! Look-ups the login flow needs beyond the users aggregate: matching an identifier against
//! chosen fields (optionally case-insensitively) and stamping the last login.

use super::Conn;

use super::StoreResult;

/// The id of the first user whose `field` (username or email) equals `value`.
pub async fn find_user_id(
    conn: &mut Conn,
    field: &str,
    value: &str,
    case_insensitive: bool,
) -> StoreResult<Option<String>> {
    let sql = match (field, case_insensitive) {
        ("username", false) => "SELECT id FROM users WHERE username = $1 LIMIT 1",
        ("username", true) => {
            "SELECT id FROM users WHERE lower(username) = lower($1) ORDER BY username LIMIT 1"
        }
        ("email", false) => "SELECT id FROM users WHERE email = $1 AND email <> '' LIMIT 1",
        ("email", true) => {
            "SELECT id FROM users WHERE lower(email) = lower($1) AND email <> '' ORDER BY username LIMIT 1"
        }
        _ => return Ok(None),
    };
    Ok(sqlx::query_scalar(sql)
        .bind(value)
        .fetch_optional(conn)
        .await?)
}

/// Records a successful login time.
pub async fn set_last_login(conn: &mut Conn, user_id: &str, now: i64) -> StoreResult<()> {
    sqlx::query("UPDATE users SET last_login = $1 WHERE id = $2")
        .bind(now)
        .bind(user_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Names of the groups a user belongs to, including parents of those groups.
pub async fn group_names(conn: &mut Conn, user_id: &str) -> StoreResult<Vec<String>> {
    Ok(sqlx::query_scalar(
        "WITH RECURSIVE g(id, parent_id, name) AS ( \
           SELECT groups.id, groups.parent_id, groups.name FROM groups \
           JOIN group_members m ON m.group_id = groups.id WHERE m.user_id = $1 \
           UNION SELECT p.id, p.parent_id, p.name FROM groups p JOIN g ON g.parent_id = p.id) \
         SELECT name FROM g ORDER BY name",
    )
    .bind(user_id)
    .fetch_all(conn)
    .await?)
}

/// True when the user is a member of the group with `group_id` (directly or via a child group).
pub async fn in_group(conn: &mut Conn, user_id: &str, group_id: &str) -> StoreResult<bool> {
    let found: Option<i64> = sqlx::query_scalar(
        "WITH RECURSIVE g(id, parent_id) AS ( \
           SELECT groups.id, groups.parent_id FROM groups \
           JOIN group_members m ON m.group_id = groups.id WHERE m.user_id = $1 \
           UNION SELECT p.id, p.parent_id FROM groups p JOIN g ON g.parent_id = p.id) \
         SELECT 1 FROM g WHERE id = $2 LIMIT 1",
    )
    .bind(user_id)
    .bind(group_id)
    .fetch_optional(conn)
    .await?;
    Ok(found.is_some())
}
