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

/// Every group's `(id, number)`.
pub async fn group_numbers(conn: &mut Conn) -> StoreResult<Vec<(String, i64)>> {
    Ok(
        sqlx::query_as("SELECT id, num_pk FROM groups WHERE num_pk IS NOT NULL")
            .fetch_all(conn)
            .await?,
    )
}
