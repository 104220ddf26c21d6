//! The stable integer numbers of users and groups (authentik's integer keys, which the
//! Agent's NSS directory maps to uid/gid numbers); given by migration 0030's triggers.

use super::Conn;

use super::StoreResult;

/// Every user's `(id, number)`.
pub async fn user_numbers(conn: &mut Conn) -> StoreResult<Vec<(String, i64)>> {
    Ok(
        sqlx::query_as("SELECT id, num_pk FROM users WHERE num_pk IS NOT NULL")
            .fetch_all(conn)
            .await?,
    )
}

/// One user's number (authentik's `id`, which a launch URL's `%(id)s` names).
pub async fn user_number(conn: &mut Conn, user_id: &str) -> StoreResult<Option<i64>> {
    let row: Option<(Option<i64>,)> = sqlx::query_as("SELECT num_pk FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(conn)
        .await?;
    Ok(row.and_then(|(n,)| n))
}

/// Every group's `(id, number)`.
pub async fn group_numbers(conn: &mut Conn) -> StoreResult<Vec<(String, i64)>> {
    Ok(
        sqlx::query_as("SELECT id, num_pk FROM groups WHERE num_pk IS NOT NULL")
            .fetch_all(conn)
            .await?,
    )
}
