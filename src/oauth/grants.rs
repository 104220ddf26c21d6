//! The token endpoint's grants (RFC 6749 §4.1.3, §4.4, §6; RFC 7636 §4.6): every check happens
//! before anything is consumed, tokens are signed outside the write transaction, and single-use
//! grants are consumed with a conditional UPDATE so exactly one concurrent redemption wins.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Value, json};

use super::claims::{self, ClaimsUser, ScopeEvaluator};
use super::errors::OAuthError;
use super::snapshot::{ProviderEntry, Snapshot};
use super::tokens::{self, IssueRequest, Issued};
use super::{client_auth, discovery, pkce};
use crate::context::{Context, EventSubject};
use crate::crypto::secrets;
use crate::domain::{ClientType, User, UserType, new_id};
use crate::store::{self, Topic};

/// The device-code grant's URN (RFC 8628).
pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// A token request, after duplicate parameters were refused.
#[derive(Debug, Clone, Default)]
pub struct TokenRequest {
    pub params: HashMap<String, String>,
    pub authorization: Option<String>,
    pub client_ip: String,
}

impl TokenRequest {
    /// Builds a request from form pairs; a repeated parameter is `invalid_request`
    /// (RFC 6749 §3.2: parameters must not be included more than once).
    pub fn from_pairs(
        pairs: Vec<(String, String)>,
        authorization: Option<String>,
        client_ip: String,
    ) -> Result<Self, OAuthError> {
        let mut params = HashMap::new();
        for (k, v) in pairs {
            if params.insert(k.clone(), v).is_some() {
                return Err(OAuthError::invalid_request(format!(
                    "parameter '{k}' repeated"
                )));
            }
        }
        Ok(Self {
            params,
            authorization,
            client_ip,
        })
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.params
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

/// Everything a grant needs.
pub struct GrantContext<'a> {
    pub context: &'a Context,
    pub snapshot: &'a Snapshot,
    pub evaluator: &'a dyn ScopeEvaluator,
}

pub(crate) fn scopes_of(s: &str) -> Vec<String> {
    s.split(' ')
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

/// The scopes a provider can grant.
pub(crate) fn configured_scopes(entry: &ProviderEntry) -> Vec<String> {
    let mut v: Vec<String> = entry
        .scope_mappings
        .iter()
        .map(|m| m.scope_name.clone())
        .collect();
    v.sort();
    v.dedup();
    v
}

pub(crate) fn server_error<E: std::fmt::Display>(e: E) -> OAuthError {
    tracing::error!(error = %e, "token endpoint failure");
    OAuthError::server_error("the server could not complete the request; try again")
}

/// The scopes a request gets: requested ∩ the provider's mappings, all of them when none were
/// requested (authentik's rule, shared by the token and device endpoints).
pub(crate) fn granted_scopes(entry: &ProviderEntry, requested: Option<&str>) -> Vec<String> {
    let configured = configured_scopes(entry);
    match requested.filter(|s| !s.trim().is_empty()) {
        None => configured,
        Some(s) => {
            let mut v: Vec<String> = scopes_of(s)
                .into_iter()
                .filter(|s| configured.contains(s))
                .collect();
            v.dedup();
            v
        }
    }
}

/// Handles `POST /application/o/token/` and returns the JSON body.
pub async fn token(ctx: &GrantContext<'_>, req: &TokenRequest) -> Result<Value, OAuthError> {
    let grant_type = req
        .get("grant_type")
        .ok_or_else(|| OAuthError::invalid_request("grant_type is required"))?;
    let known = [
        "authorization_code",
        "refresh_token",
        "client_credentials",
        "password",
        DEVICE_CODE_GRANT,
    ];
    if !known.contains(&grant_type) {
        return Err(OAuthError::unsupported_grant_type(format!(
            "grant_type '{grant_type}' is not supported"
        )));
    }
    let creds = client_auth::extract(
        req.authorization.as_deref(),
        req.get("client_id"),
        req.params.get("client_secret").map(String::as_str),
    )?;
    let entry = client_auth::authenticate(ctx.snapshot, creds.as_ref())?;
    if !entry
        .provider
        .oauth2
        .grant_types
        .iter()
        .any(|g| g == grant_type)
    {
        return Err(OAuthError::unauthorized_client(format!(
            "this client may not use the '{grant_type}' grant"
        )));
    }
    let issued = match grant_type {
        "authorization_code" => authorization_code(ctx, &entry, req).await?,
        "refresh_token" => refresh_token(ctx, &entry, req).await?,
        // authentik: a username plus an app password works with either grant.
        "password" => app_password(ctx, &entry, req).await?,
        "client_credentials" if req.get("username").is_some() => {
            app_password(ctx, &entry, req).await?
        }
        "client_credentials" => client_credentials(ctx, &entry, req).await?,
        DEVICE_CODE_GRANT => super::device::token(ctx, &entry, req).await?,
        _ => {
            return Err(OAuthError::unsupported_grant_type(format!(
                "grant_type '{grant_type}' is not available on this server yet"
            )));
        }
    };
    Ok(tokens::response_body(&issued))
}

fn issuer(ctx: &GrantContext<'_>, entry: &ProviderEntry) -> Result<String, OAuthError> {
    discovery::issuer(&ctx.context.config().public_url, entry)
        .ok_or_else(|| OAuthError::invalid_grant("the provider is not attached to an application"))
}

/// Loads an active user with their group names, for claims.
pub async fn load_user(ctx: &GrantContext<'_>, user_id: &str) -> Result<ClaimsUser, OAuthError> {
    let mut conn = ctx.context.store().read().await.map_err(server_error)?;
    let user = store::users::get(&mut conn, user_id)
        .await
        .map_err(server_error)?
        .ok_or_else(|| OAuthError::invalid_grant("the user no longer exists"))?;
    if !user.is_active {
        return Err(OAuthError::invalid_grant("the user is inactive"));
    }
    let groups = store::groups::of_user(&mut conn, user_id)
        .await
        .map_err(server_error)?
        .into_iter()
        .map(|g| g.name)
        .collect();
    Ok(ClaimsUser { user, groups })
}

pub(crate) struct Mint<'a> {
    pub(crate) entry: &'a ProviderEntry,
    pub(crate) user: &'a ClaimsUser,
    pub(crate) scopes: &'a [String],
    pub(crate) nonce: Option<&'a str>,
    pub(crate) auth_time: i64,
    pub(crate) session_id: Option<&'a str>,
    pub(crate) family_id: &'a str,
    pub(crate) with_refresh: bool,
    pub(crate) amr: &'a [String],
    /// See [`IssueRequest::id_token_at_hash`].
    pub(crate) id_token_at_hash: bool,
}

pub(crate) fn mint(ctx: &GrantContext<'_>, m: Mint<'_>) -> Result<Issued, OAuthError> {
    let issuer = issuer(ctx, m.entry)?;
    let mapped = claims::mapped_claims(m.entry, m.scopes, m.user, ctx.evaluator);
    tokens::issue(&IssueRequest {
        entry: m.entry,
        issuer: &issuer,
        user_id: &m.user.user.id,
        subject: claims::subject(m.entry.provider.oauth2.sub_mode, &m.user.user),
        scopes: m.scopes,
        nonce: m.nonce,
        auth_time: m.auth_time,
        session_id: m.session_id,
        amr: m.amr,
        mapped: &mapped,
        family_id: m.family_id,
        now: ctx.context.now(),
        with_refresh: m.with_refresh,
        id_token_at_hash: m.id_token_at_hash,
    })
}

pub(crate) async fn store_issued(
    tx: &mut store::WriteTx,
    issued: &Issued,
) -> Result<(), OAuthError> {
    store::grants::insert_access_token(tx.conn(), &issued.access_record)
        .await
        .map_err(server_error)?;
    if let Some((_, record)) = &issued.refresh {
        store::grants::insert_refresh_token(tx.conn(), record)
            .await
            .map_err(server_error)?;
    }
    tx.touch(Topic::Tokens);
    Ok(())
}

pub(crate) async fn suspicious(
    ctx: &GrantContext<'_>,
    req: &TokenRequest,
    what: &str,
    user_id: &str,
) {
    let subject = EventSubject {
        user_id: Some(user_id.to_string()),
        client_ip: req.client_ip.clone(),
        ..Default::default()
    };
    if let Err(e) = ctx
        .context
        .record_event("suspicious_request", subject, json!({ "reason": what }))
        .await
    {
        tracing::warn!(error = %e, "cannot record suspicious_request");
    }
}

async fn authorization_code(
    ctx: &GrantContext<'_>,
    entry: &Arc<ProviderEntry>,
    req: &TokenRequest,
) -> Result<Issued, OAuthError> {
    let code_value = req
        .get("code")
        .ok_or_else(|| OAuthError::invalid_request("code is required"))?;
    let code = {
        let mut conn = ctx.context.store().read().await.map_err(server_error)?;
        store::grants::find_code(&mut conn, &secrets::digest(code_value))
            .await
            .map_err(server_error)?
    }
    .filter(|c| c.provider_id == entry.provider.id)
    .ok_or_else(|| {
        OAuthError::invalid_grant("the code is invalid or was issued to another client")
    })?;
    let now = ctx.context.now();
    if code.consumed_at.is_some() {
        return Err(code_replayed(ctx, req, &code, now).await);
    }
    if req.get("redirect_uri") != Some(code.redirect_uri.as_str()) {
        return Err(OAuthError::invalid_grant(
            "redirect_uri must be identical to the one used at the authorization endpoint",
        ));
    }
    if now >= code.expires_at {
        return Err(OAuthError::invalid_grant("the code has expired"));
    }
    let verifier = req.get("code_verifier");
    match (&code.code_challenge, verifier) {
        (Some(challenge), Some(v)) => {
            let method = code.code_challenge_method.as_deref().unwrap_or("plain");
            if !pkce::verify(challenge, method, v) {
                return Err(OAuthError::invalid_grant("code_verifier does not match"));
            }
        }
        (Some(_), None) => {
            return Err(OAuthError::invalid_grant("code_verifier is required"));
        }
        (None, Some(_)) => {
            return Err(OAuthError::invalid_grant(
                "code_verifier sent but no code_challenge was used",
            ));
        }
        (None, None) => {}
    }
    let user = load_user(ctx, &code.user_id).await?;
    let scopes = scopes_of(&code.scope);
    let issued = mint(
        ctx,
        Mint {
            entry,
            user: &user,
            scopes: &scopes,
            nonce: code.nonce.as_deref(),
            auth_time: code.auth_time,
            session_id: code.session_id.as_deref(),
            family_id: store::grants::family_of_code(&code),
            with_refresh: scopes.iter().any(|s| s == "offline_access"),
            amr: &["pwd".to_string()],
            id_token_at_hash: true,
        },
    )?;
    // The code is consumed in the same (group-committed) transaction that records the tokens,
    // and only an unused code gets them.
    let recorded = ctx
        .context
        .store()
        .record_code_exchange(
            &code.id,
            now,
            issued.access_record.clone(),
            issued.refresh.as_ref().map(|(_, r)| r.clone()),
        )
        .await
        .map_err(server_error)?;
    if recorded == store::token_batch::Recorded::CodeAlreadyUsed {
        // Lost a race with another redemption: that is a replay too.
        return Err(code_replayed(ctx, req, &code, now).await);
    }
    Ok(issued)
}

/// A used code presented again: everything it produced is revoked (RFC 6749 §4.1.2) and the
/// attempt is recorded as suspicious. Returns the error to answer with.
async fn code_replayed(
    ctx: &GrantContext<'_>,
    req: &TokenRequest,
    code: &store::grants::AuthorizationCode,
    now: i64,
) -> OAuthError {
    let revoked = async {
        let mut tx = ctx.context.store().write_tx().await?;
        store::grants::revoke_family(tx.conn(), store::grants::family_of_code(code), now).await?;
        tx.touch(Topic::Tokens);
        tx.commit().await
    };
    if let Err(e) = revoked.await {
        return server_error(e);
    }
    suspicious(ctx, req, "authorization code replayed", &code.user_id).await;
    OAuthError::invalid_grant("the code was already used")
}

async fn refresh_token(
    ctx: &GrantContext<'_>,
    entry: &Arc<ProviderEntry>,
    req: &TokenRequest,
) -> Result<Issued, OAuthError> {
    let value = req
        .get("refresh_token")
        .ok_or_else(|| OAuthError::invalid_request("refresh_token is required"))?;
    let old = {
        let mut conn = ctx.context.store().read().await.map_err(server_error)?;
        store::grants::find_refresh_token(&mut conn, &secrets::digest(value))
            .await
            .map_err(server_error)?
    }
    .filter(|t| t.provider_id == entry.provider.id)
    .ok_or_else(|| OAuthError::invalid_grant("the refresh token is invalid"))?;
    let now = ctx.context.now();
    let revoke_family = || async {
        let mut tx = ctx.context.store().write_tx().await.map_err(server_error)?;
        store::grants::revoke_family(tx.conn(), &old.family_id, now)
            .await
            .map_err(server_error)?;
        tx.touch(Topic::Tokens);
        tx.commit().await.map_err(server_error)?;
        suspicious(ctx, req, "refresh token reused", &old.user_id).await;
        Err::<Issued, _>(OAuthError::invalid_grant(
            "the refresh token was already used",
        ))
    };
    if old.revoked_at.is_some() || old.consumed_at.is_some() {
        return revoke_family().await;
    }
    if now >= old.expires_at {
        return Err(OAuthError::invalid_grant("the refresh token has expired"));
    }
    let original = scopes_of(&old.scope);
    let scopes = match req.get("scope") {
        None => original.clone(),
        Some(s) => {
            let asked = scopes_of(s);
            if let Some(extra) = asked.iter().find(|s| !original.contains(s)) {
                return Err(OAuthError::invalid_scope(format!(
                    "scope '{extra}' was not granted originally"
                )));
            }
            asked
        }
    };
    if !scopes.iter().any(|s| s == "offline_access") {
        return Err(OAuthError::invalid_scope(
            "refreshing needs the offline_access scope",
        ));
    }
    let user = load_user(ctx, &old.user_id).await?;
    // Access removed since the grant (a policy now denies): no more tokens.
    check_application_access(ctx, entry, &old.user_id, &req.client_ip).await?;
    let issued = mint(
        ctx,
        Mint {
            entry,
            user: &user,
            scopes: &scopes,
            nonce: old.nonce.as_deref(),
            auth_time: old.auth_time,
            session_id: old.session_id.as_deref(),
            family_id: &old.family_id,
            with_refresh: true,
            amr: &["pwd".to_string()],
            id_token_at_hash: true,
        },
    )?;
    let mut tx = ctx.context.store().write_tx().await.map_err(server_error)?;
    if !store::grants::consume_refresh_token(tx.conn(), &old.id, now)
        .await
        .map_err(server_error)?
    {
        drop(tx);
        return revoke_family().await;
    }
    store_issued(&mut tx, &issued).await?;
    tx.commit().await.map_err(server_error)?;
    Ok(issued)
}

async fn client_credentials(
    ctx: &GrantContext<'_>,
    entry: &Arc<ProviderEntry>,
    req: &TokenRequest,
) -> Result<Issued, OAuthError> {
    if entry.provider.oauth2.client_type == ClientType::Public {
        return Err(OAuthError::unauthorized_client(
            "public clients cannot use client_credentials",
        ));
    }
    let scopes = granted_scopes(entry, req.get("scope"));
    let user = service_account(ctx, entry).await?;
    check_application_access(ctx, entry, &user.id, &req.client_ip).await?;
    let user = ClaimsUser {
        user,
        groups: Vec::new(),
    };
    let now = ctx.context.now();
    let family = new_id();
    let issued = mint(
        ctx,
        Mint {
            entry,
            user: &user,
            scopes: &scopes,
            nonce: None,
            auth_time: now,
            session_id: None,
            family_id: &family,
            with_refresh: false,
            amr: &[],
            id_token_at_hash: false,
        },
    )?;
    record_alone(ctx, &issued).await?;
    Ok(issued)
}

/// Records tokens that need no other row changed with them, through the group commit.
async fn record_alone(ctx: &GrantContext<'_>, issued: &Issued) -> Result<(), OAuthError> {
    ctx.context
        .store()
        .record_tokens(
            issued.access_record.clone(),
            issued.refresh.as_ref().map(|(_, r)| r.clone()),
        )
        .await
        .map_err(server_error)
}

/// `username` + an app password (never the user's login password): tokens for that user.
async fn app_password(
    ctx: &GrantContext<'_>,
    entry: &Arc<ProviderEntry>,
    req: &TokenRequest,
) -> Result<Issued, OAuthError> {
    let (Some(username), Some(password)) = (req.get("username"), req.get("password")) else {
        return Err(OAuthError::invalid_request(
            "username and password are required",
        ));
    };
    let now = ctx.context.now();
    let token = {
        let mut conn = ctx.context.store().read().await.map_err(server_error)?;
        match store::users::get_by_username(&mut conn, username)
            .await
            .map_err(server_error)?
        {
            Some(user) => store::tokens::find_valid(
                &mut conn,
                &user.id,
                store::tokens::INTENT_APP_PASSWORD,
                &secrets::digest(password),
                now,
            )
            .await
            .map_err(server_error)?,
            None => None,
        }
    };
    let token = token.ok_or_else(|| OAuthError::invalid_grant("wrong username or app password"))?;
    let user = load_user(ctx, &token.user_id).await?;
    check_application_access(ctx, entry, &token.user_id, &req.client_ip).await?;
    let scopes = granted_scopes(entry, req.get("scope"));
    let family = new_id();
    let issued = mint(
        ctx,
        Mint {
            entry,
            user: &user,
            scopes: &scopes,
            nonce: None,
            auth_time: now,
            session_id: None,
            family_id: &family,
            with_refresh: false,
            amr: &["pwd".to_string()],
            id_token_at_hash: false,
        },
    )?;
    record_alone(ctx, &issued).await?;
    let subject = EventSubject {
        username: user.user.username.clone(),
        user_id: Some(user.user.id.clone()),
        client_ip: req.client_ip.clone(),
        ..Default::default()
    };
    if let Err(e) = ctx
        .context
        .record_event("login", subject, json!({ "method": "app_password" }))
        .await
    {
        tracing::warn!(error = %e, "cannot record login");
    }
    Ok(issued)
}

/// The application's policy bindings decide whether this user may get tokens (authentik evaluates
/// them for client_credentials too); an error in a policy denies.
pub(crate) async fn check_application_access(
    ctx: &GrantContext<'_>,
    entry: &ProviderEntry,
    user_id: &str,
    client_ip: &str,
) -> Result<(), OAuthError> {
    let Some(app) = &entry.application else {
        return Err(OAuthError::invalid_grant(
            "the provider is not attached to an application",
        ));
    };
    if !entry.application_has_bindings {
        // No bindings: everyone passes, nothing to load.
        return Ok(());
    }
    let env = crate::flows::Env::new(ctx.context, client_ip, Some(user_id.to_string()));
    let context = crate::flows::FlowContext::default();
    let req = crate::flows::policy::PolicyRequest::load(&env, Some(user_id), &context)
        .await
        .map_err(server_error)?;
    let result = crate::flows::policy::evaluate_target(&env, &app.id, app.policy_engine_mode, &req)
        .await
        .map_err(server_error)?;
    if result.passing {
        Ok(())
    } else {
        Err(OAuthError::invalid_grant(
            "access to this application was denied by its policies",
        ))
    }
}

/// authentik's service account for a provider's client_credentials grant, created on first use.
async fn service_account(
    ctx: &GrantContext<'_>,
    entry: &ProviderEntry,
) -> Result<User, OAuthError> {
    if let Some(user) = &entry.service_account {
        if !user.is_active {
            return Err(OAuthError::invalid_grant("the service account is inactive"));
        }
        return Ok(user.clone());
    }
    let username = crate::oauth::snapshot::service_account_name(&entry.provider);
    {
        let mut conn = ctx.context.store().read().await.map_err(server_error)?;
        if let Some(user) = store::users::get_by_username(&mut conn, &username)
            .await
            .map_err(server_error)?
        {
            if !user.is_active {
                return Err(OAuthError::invalid_grant("the service account is inactive"));
            }
            return Ok(user);
        }
    }
    let now = ctx.context.now();
    let app = entry
        .application
        .as_ref()
        .map(|a| a.name.clone())
        .unwrap_or_default();
    let user = User {
        id: new_id(),
        username: username.clone(),
        name: format!("Autogenerated user from application {app} (client credentials)"),
        email: String::new(),
        is_active: true,
        user_type: UserType::ServiceAccount,
        path: format!(
            "goauthentik.io/apps/{}",
            entry
                .application
                .as_ref()
                .map(|a| a.slug.as_str())
                .unwrap_or("")
        ),
        attributes: json!({}),
        has_password: false,
        last_login: None,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let mut tx = ctx.context.store().write_tx().await.map_err(server_error)?;
    // Another request may have created it meanwhile; the write lock makes this check exact.
    if let Some(existing) = store::users::get_by_username(tx.conn(), &username)
        .await
        .map_err(server_error)?
    {
        return Ok(existing);
    }
    store::users::insert(tx.conn(), &user, None)
        .await
        .map_err(server_error)?;
    tx.touch(Topic::Users);
    tx.commit().await.map_err(server_error)?;
    Ok(user)
}
