//! What deleting a user, provider or application takes with it (rows removed by the schema's
//! `ON DELETE CASCADE`), counted for the console's delete dialog. Only what is still in force
//! is counted: live sessions, unrevoked unexpired tokens, unused codes.

use super::Conn;

use super::StoreResult;

/// The owner whose dependents are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// A user: sessions, tokens, codes, consents, app passwords, authenticators.
    User,
    /// An OAuth2 provider: its tokens and codes.
    Provider,
    /// An application: consents given to it.
    Application,
}

/// `(what, how many)` for every dependent kind with at least one row.
pub async fn count(
    conn: &mut Conn,
    owner: Owner,
    id: &str,
    now: i64,
) -> StoreResult<Vec<(&'static str, i64)>> {
    // Each query binds (id, now) or just id; the column names are constants.
    let queries: &[(&str, &str, bool)] = match owner {
        Owner::User => &[
            (
                "live sessions",
                "SELECT count(*) FROM sessions WHERE user_id = $1 AND expires_at > $2",
                true,
            ),
            (
                "access tokens",
                "SELECT count(*) FROM access_tokens WHERE user_id = $1 AND expires_at > $2 \
                 AND revoked_at IS NULL",
                true,
            ),
            (
                "refresh tokens",
                "SELECT count(*) FROM refresh_tokens WHERE user_id = $1 AND expires_at > $2 \
                 AND revoked_at IS NULL AND consumed_at IS NULL",
                true,
            ),
            (
                "authorization codes",
                "SELECT count(*) FROM authorization_codes WHERE user_id = $1 AND expires_at > $2 \
                 AND consumed_at IS NULL",
                true,
            ),
            (
                "consents",
                "SELECT count(*) FROM consents WHERE user_id = $1",
                false,
            ),
            (
                "app passwords and API tokens",
                "SELECT count(*) FROM tokens WHERE user_id = $1",
                false,
            ),
            (
                "authenticators",
                "SELECT count(*) FROM authenticator_devices WHERE user_id = $1",
                false,
            ),
        ],
        Owner::Provider => &[
            (
                "access tokens",
                "SELECT count(*) FROM access_tokens WHERE provider_id = $1 AND expires_at > $2 \
                 AND revoked_at IS NULL",
                true,
            ),
            (
                "refresh tokens",
                "SELECT count(*) FROM refresh_tokens WHERE provider_id = $1 AND expires_at > $2 \
                 AND revoked_at IS NULL AND consumed_at IS NULL",
                true,
            ),
            (
                "authorization codes",
                "SELECT count(*) FROM authorization_codes WHERE provider_id = $1 \
                 AND expires_at > $2 AND consumed_at IS NULL",
                true,
            ),
            (
                "device codes",
                "SELECT count(*) FROM device_codes WHERE provider_id = $1 AND expires_at > $2 \
                 AND consumed_at IS NULL",
                true,
            ),
        ],
        Owner::Application => &[(
            "consents",
            "SELECT count(*) FROM consents WHERE application_id = $1",
            false,
        )],
    };
    let mut out = Vec::new();
    for (what, sql, with_now) in queries {
        let mut q = sqlx::query_scalar::<_, i64>(*sql).bind(id);
        if *with_now {
            q = q.bind(now);
        }
        let n = q.fetch_one(&mut *conn).await?;
        if n > 0 {
            out.push((*what, n));
        }
    }
    Ok(out)
}
