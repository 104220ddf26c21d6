//! authentik's GitHub-compatibility endpoints, so applications that only speak "Sign in with
//! GitHub" can use latchkey: `/login/oauth/authorize` and `/login/oauth/access_token` are the
//! normal endpoints; `/user`, `/user/emails` and `/user/teams` answer in GitHub's shapes.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::claims::ClaimsUser;
use super::grant::GrantContext;
use super::resource::{BearerError, active_user, bearer_read, live_access_token};
use crate::domain::User;

/// A stable numeric id for a user (GitHub clients store ids as integers); 48 bits of a hash.
pub fn numeric_id(user: &User) -> u64 {
    let d = Sha256::digest(user.id.as_bytes());
    d[..6]
        .iter()
        .fold(0u64, |acc, b| (acc << 8) | u64::from(*b))
}

/// The user behind a valid, unrevoked access token, with their group names.
async fn token_user(
    ctx: &GrantContext<'_>,
    token: Option<&str>,
) -> Result<(User, Vec<String>), BearerError> {
    let token = token.ok_or_else(|| {
        BearerError::invalid_token("send the access token in the Authorization header")
    })?;
    let mut conn = bearer_read(ctx).await?;
    let at = live_access_token(ctx, &mut conn, token).await?;
    let ClaimsUser { user, groups, .. } = active_user(&mut conn, &at.user_id).await?;
    Ok((user, groups))
}

/// `GET /user`
pub async fn user(ctx: &GrantContext<'_>, token: Option<&str>) -> Result<Value, BearerError> {
    let (user, _) = token_user(ctx, token).await?;
    Ok(json!({
        "login": user.username,
        "id": numeric_id(&user),
        "name": user.name,
        "email": user.email,
        "type": "User",
        "site_admin": false,
    }))
}

/// `GET /user/emails`
pub async fn emails(ctx: &GrantContext<'_>, token: Option<&str>) -> Result<Value, BearerError> {
    let (user, _) = token_user(ctx, token).await?;
    if user.email.is_empty() {
        return Ok(json!([]));
    }
    Ok(json!([{
        "email": user.email,
        "verified": true,
        "primary": true,
        "visibility": "private",
    }]))
}

/// `GET /user/teams`: groups as teams of one organisation.
pub async fn teams(ctx: &GrantContext<'_>, token: Option<&str>) -> Result<Value, BearerError> {
    let (_, groups) = token_user(ctx, token).await?;
    Ok(Value::Array(
        groups
            .into_iter()
            .map(|g| json!({ "name": g, "slug": g, "organization": { "login": "latchkey" } }))
            .collect(),
    ))
}
