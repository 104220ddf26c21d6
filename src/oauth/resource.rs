//! Endpoints that take a token: revocation (RFC 7009), introspection (RFC 7662) and userinfo
//! (OpenID Connect Core §5.3, bearer per RFC 6750). Tokens are found by digest, so revocation and
//! introspection are authoritative even though access tokens are JWTs.

use std::ops::DerefMut;

use serde_json::{Map, Value, json};

use super::claims::{self, ClaimsUser};
use super::client_auth;
use super::errors::OAuthError;
use super::grant::{GrantContext, TokenRequest};
use super::snapshot::ClientEntry;
use crate::crypto::secrets;
use crate::store::grants::AccessToken;
use crate::store::{self, Conn, Topic};

fn storage_error<E: std::fmt::Display + 'static>(e: E) -> OAuthError {
    OAuthError::internal("token storage failure", e)
}

/// The client a revocation or introspection request authenticates as (Basic or the body's
/// `client_id`/`client_secret`, taken as sent).
fn authenticated_client<'a>(
    ctx: &GrantContext<'a>,
    req: &TokenRequest,
) -> Result<&'a ClientEntry, OAuthError> {
    let creds = client_auth::extract(
        req.authorization.as_deref(),
        req.params.get("client_id").map(String::as_str),
        req.params.get("client_secret").map(String::as_str),
    )?;
    client_auth::authenticate(ctx.snapshot, creds.as_ref())
}

/// `POST /application/o/revoke/`: revokes one of the calling client's tokens. Unknown tokens and
/// other clients' tokens answer 200 with nothing done; a storage failure is not success.
pub async fn revoke(ctx: &GrantContext<'_>, req: &TokenRequest) -> Result<Value, OAuthError> {
    let entry = &authenticated_client(ctx, req)?.entry;
    let token = req
        .params
        .get("token")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| OAuthError::invalid_request("token is required"))?;
    let digest = secrets::digest(token);
    let now = ctx.context.now();
    let mut tx = ctx
        .context
        .store()
        .write_tx()
        .await
        .map_err(storage_error)?;
    if let Some(at) = store::grants::find_access_token(tx.conn(), &digest)
        .await
        .map_err(storage_error)?
        .filter(|t| t.provider_id == entry.provider.id)
    {
        store::grants::revoke_access_token(tx.conn(), &at.id, now)
            .await
            .map_err(storage_error)?;
    } else if let Some(rt) = store::grants::find_refresh_token(tx.conn(), &digest)
        .await
        .map_err(storage_error)?
        .filter(|t| t.provider_id == entry.provider.id)
    {
        // Revoking a refresh token ends the whole grant (RFC 7009 §2.1).
        store::grants::revoke_family(tx.conn(), &rt.family_id, now)
            .await
            .map_err(storage_error)?;
    }
    tx.touch(Topic::Tokens);
    tx.commit().await.map_err(storage_error)?;
    Ok(json!({}))
}

/// `POST /application/o/introspect/`: only authenticated clients may ask, and only about their
/// own tokens; anything else reads `{"active": false}`.
pub async fn introspect(ctx: &GrantContext<'_>, req: &TokenRequest) -> Result<Value, OAuthError> {
    let entry = &authenticated_client(ctx, req)?.entry;
    let inactive = json!({ "active": false });
    let Some(token) = req.params.get("token").filter(|t| !t.is_empty()) else {
        return Ok(inactive);
    };
    let digest = secrets::digest(token);
    let now = ctx.context.now();
    let mut conn = ctx.context.store().read().await.map_err(storage_error)?;
    let (claims_json, scope, active, user_id) = if let Some(at) =
        store::grants::find_access_token(&mut conn, &digest)
            .await
            .map_err(storage_error)?
    {
        let active = at.revoked_at.is_none() && now < at.expires_at;
        (
            at.claims,
            at.scope,
            active && at.provider_id == entry.provider.id,
            at.user_id,
        )
    } else if let Some(rt) = store::grants::find_refresh_token(&mut conn, &digest)
        .await
        .map_err(storage_error)?
    {
        let active = rt.revoked_at.is_none() && rt.consumed_at.is_none() && now < rt.expires_at;
        (
            rt.claims,
            rt.scope,
            active && rt.provider_id == entry.provider.id,
            rt.user_id,
        )
    } else {
        return Ok(inactive);
    };
    if !active {
        return Ok(inactive);
    }
    let user_active = store::users::get(&mut conn, &user_id)
        .await
        .map_err(storage_error)?
        .is_some_and(|u| u.is_active);
    if !user_active {
        return Ok(inactive);
    }
    let mut body: Map<String, Value> = serde_json::from_str(&claims_json).unwrap_or_default();
    body.insert("active".into(), json!(true));
    body.insert("scope".into(), json!(scope));
    body.insert("client_id".into(), json!(entry.provider.client_id));
    body.insert("token_type".into(), json!("Bearer"));
    Ok(Value::Object(body))
}

/// A userinfo failure: the status and the `WWW-Authenticate` challenge to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BearerError {
    pub status: u16,
    pub error: &'static str,
    pub description: String,
}

impl BearerError {
    /// 401 `invalid_token`: unknown, expired or revoked, or its user is gone.
    pub(crate) fn invalid_token(d: &str) -> Self {
        Self {
            status: 401,
            error: "invalid_token",
            description: d.into(),
        }
    }

    /// 500 `server_error` for a failure of ours, without its details.
    pub(crate) fn internal<E>(_: E) -> Self {
        Self {
            status: 500,
            error: "server_error",
            description: "try again".into(),
        }
    }

    /// The `WWW-Authenticate` header value (RFC 6750 §3).
    pub fn challenge(&self) -> String {
        format!(
            "Bearer error=\"{}\", error_description=\"{}\"",
            self.error,
            self.description.replace('"', "'")
        )
    }
}

/// `GET|POST /application/o/userinfo/`: `sub` plus the claims of the token's scopes, computed now.
pub async fn userinfo(ctx: &GrantContext<'_>, bearer: Option<&str>) -> Result<Value, BearerError> {
    let token = bearer.ok_or_else(|| BearerError {
        status: 401,
        error: "invalid_request",
        description: "send the access token in the Authorization header".into(),
    })?;
    let mut conn = bearer_read(ctx).await?;
    let at = live_access_token(ctx, &mut conn, token).await?;
    let scopes: Vec<String> = at.scope.split(' ').map(str::to_string).collect();
    if !scopes.iter().any(|s| s == "openid") {
        return Err(BearerError {
            status: 403,
            error: "insufficient_scope",
            description: "the token lacks the openid scope".into(),
        });
    }
    let entry = ctx
        .snapshot
        .by_provider_id(&at.provider_id)
        .ok_or_else(|| BearerError::invalid_token("the provider no longer exists"))?;
    let user = active_user(&mut conn, &at.user_id).await?;
    let stored: Map<String, Value> = serde_json::from_str(&at.claims).unwrap_or_default();
    let mut body = Map::new();
    body.insert(
        "sub".into(),
        stored
            .get("sub")
            .cloned()
            .unwrap_or_else(|| json!(claims::subject(entry.provider.oauth2.sub_mode, &user.user))),
    );
    for (k, v) in
        claims::mapped_claims_reporting(entry, &scopes, &user, ctx.evaluator, Some(ctx.context))
    {
        body.insert(k, v);
    }
    Ok(Value::Object(body))
}

/// A read connection for a bearer endpoint (a store failure answers 500).
pub(crate) async fn bearer_read(
    ctx: &GrantContext<'_>,
) -> Result<impl DerefMut<Target = Conn>, BearerError> {
    ctx.context
        .store()
        .read()
        .await
        .map_err(BearerError::internal)
}

/// The access token `token` digests to, while it is unrevoked and unexpired (userinfo and the
/// GitHub endpoints).
pub(crate) async fn live_access_token(
    ctx: &GrantContext<'_>,
    conn: &mut Conn,
    token: &str,
) -> Result<AccessToken, BearerError> {
    let at = store::grants::find_access_token(conn, &secrets::digest(token))
        .await
        .map_err(BearerError::internal)?
        .ok_or_else(|| BearerError::invalid_token("unknown token"))?;
    if at.revoked_at.is_some() || ctx.context.now() >= at.expires_at {
        return Err(BearerError::invalid_token(
            "the token is expired or revoked",
        ));
    }
    Ok(at)
}

/// The active user a token was issued to, with their group names (`invalid_token` when the
/// user is gone or inactive).
pub(crate) async fn active_user(conn: &mut Conn, user_id: &str) -> Result<ClaimsUser, BearerError> {
    let user = store::users::get(conn, user_id)
        .await
        .map_err(BearerError::internal)?
        .filter(|u| u.is_active)
        .ok_or_else(|| BearerError::invalid_token("the user is inactive"))?;
    let groups = store::groups::of_user(conn, &user.id)
        .await
        .map_err(BearerError::internal)?;
    Ok(ClaimsUser::new(user, groups))
}
