//! authentik's GitHub-compatibility endpoints, so applications that only speak "Sign in with
//! GitHub" can use latchkey: `/login/oauth/authorize` and `/login/oauth/access_token` are the
//! normal endpoints; `/user`, `/user/emails` and `/user/teams` answer in GitHub's shapes.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::grant::GrantContext;
use super::resource::BearerError;
use crate::crypto::secrets;
use crate::domain::User;
use crate::store;

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
    let invalid = |d: &str| BearerError {
        status: 401,
        error: "invalid_token",
        description: d.into(),
    };
    let internal = |_| BearerError {
        status: 500,
        error: "server_error",
        description: "try again".into(),
    };
    let token =
        token.ok_or_else(|| invalid("send the access token in the Authorization header"))?;
    let mut conn = ctx.context.store().read().await.map_err(internal)?;
    let at = store::grants::find_access_token(&mut conn, &secrets::digest(token))
        .await
        .map_err(internal)?
        .ok_or_else(|| invalid("unknown token"))?;
    if at.revoked_at.is_some() || ctx.context.now() >= at.expires_at {
        return Err(invalid("the token is expired or revoked"));
    }
    let user = store::users::get(&mut conn, &at.user_id)
        .await
        .map_err(internal)?
        .filter(|u| u.is_active)
        .ok_or_else(|| invalid("the user is inactive"))?;
    let groups = store::groups::of_user(&mut conn, &user.id)
        .await
        .map_err(internal)?
        .into_iter()
        .map(|g| g.name)
        .collect();
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
