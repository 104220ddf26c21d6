//! Completing an authorization once the user is authenticated and has consented: mint the code
//! (bound to client, redirect URI, PKCE challenge and nonce) and, for implicit and hybrid
//! responses, the tokens — then build the response to the client with `state` and `iss`.

use serde_json::json;

use super::authorize::{self, ClientResponse, ValidatedAuthorize};
use super::claims;
use super::errors::OAuthError;
use super::grant::{self, GrantContext};
use super::tokens::{self, IssueRequest};
use crate::context::EventSubject;
use crate::crypto::secrets;
use crate::domain::new_id;
use crate::store::{self, Topic, grants::AuthorizationCode};

/// Who authorized, and when they authenticated.
#[derive(Debug, Clone)]
pub struct Authorizer<'a> {
    pub user_id: &'a str,
    pub session_id: Option<&'a str>,
    pub auth_time: i64,
    pub client_ip: &'a str,
}

fn storage<E: std::fmt::Display + 'static>(e: E) -> OAuthError {
    OAuthError::internal("authorization storage failure", e)
}

/// Mints what the response type asks for and returns where to send the browser.
pub async fn complete(
    ctx: &GrantContext<'_>,
    req: &ValidatedAuthorize,
    who: &Authorizer<'_>,
) -> Result<ClientResponse, OAuthError> {
    let now = ctx.context.now();
    let family = new_id();
    let mut params: Vec<(String, String)> = Vec::new();
    let code = req
        .response_type
        .code
        .then(|| authorization_code(req, who, &family, now));
    if let Some((value, _)) = &code {
        params.push(("code".into(), value.clone()));
    }
    let mut issued = None;
    if req.response_type.id_token || req.response_type.token {
        let code_value = code.as_ref().map(|(value, _)| value.as_str());
        let out = front_channel_tokens(ctx, req, who, &family, now, code_value).await?;
        if req.response_type.id_token {
            params.push(("id_token".into(), out.id_token.clone()));
        }
        if req.response_type.token {
            params.push(("access_token".into(), out.access_token.clone()));
            params.push(("token_type".into(), "Bearer".into()));
            params.push(("expires_in".into(), out.expires_in.to_string()));
        }
        issued = Some(out);
    }
    if let Some(state) = &req.state {
        params.push(("state".into(), state.clone()));
    }
    params.push(("iss".into(), req.issuer.clone()));
    let access = issued
        .as_ref()
        .filter(|_| req.response_type.token)
        .map(|out| &out.access_record);
    store_grants(ctx, code.as_ref().map(|(_, record)| record), access).await?;
    record_authorization(ctx, req, who).await;
    Ok(authorize::respond(
        &req.redirect_uri,
        req.response_mode,
        params,
    ))
}

/// A new authorization code (the raw value for the response, the record to store), bound to
/// client, redirect URI, PKCE challenge and nonce.
fn authorization_code(
    req: &ValidatedAuthorize,
    who: &Authorizer<'_>,
    family: &str,
    now: i64,
) -> (String, AuthorizationCode) {
    let code = secrets::random_token(32);
    let record = AuthorizationCode {
        id: family.to_string(),
        code_digest: secrets::digest(&code),
        provider_id: req.entry.provider.id.clone(),
        user_id: who.user_id.to_string(),
        session_id: who.session_id.map(str::to_string),
        redirect_uri: req.redirect_uri.clone(),
        scope: req.scopes.join(" "),
        nonce: req.nonce.clone(),
        code_challenge: req.code_challenge.as_ref().map(|c| c.0.clone()),
        code_challenge_method: req.code_challenge.as_ref().map(|c| c.1.clone()),
        auth_time: who.auth_time,
        expires_at: now + tokens::validity(&req.entry.provider.oauth2.access_code_validity, 60),
        consumed_at: None,
        created_at: now,
    };
    (code, record)
}

/// The tokens of an implicit or hybrid response; the ID token is signed again with the hashes
/// this response needs (`at_hash`, `c_hash`: OIDC Core §3.3.2.11).
async fn front_channel_tokens(
    ctx: &GrantContext<'_>,
    req: &ValidatedAuthorize,
    who: &Authorizer<'_>,
    family: &str,
    now: i64,
    code: Option<&str>,
) -> Result<tokens::Issued, OAuthError> {
    let settings = &req.entry.provider.oauth2;
    let user = grant::load_user(ctx, who.user_id).await?;
    let mapped = claims::mapped_claims_reporting(
        &req.entry,
        &req.scopes,
        &user,
        ctx.evaluator,
        Some(ctx.context),
    );
    let mut out = tokens::issue(&IssueRequest {
        entry: &req.entry,
        issuer: &req.issuer,
        user_id: who.user_id,
        subject: claims::subject(settings.sub_mode, &user.user),
        scopes: &req.scopes,
        nonce: req.nonce.as_deref(),
        auth_time: who.auth_time,
        session_id: who.session_id,
        amr: &["pwd".to_string()],
        mapped: &mapped,
        family_id: family,
        now,
        with_refresh: false,
        id_token_at_hash: true,
    })?;
    if req.response_type.id_token {
        let mut id_claims: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&out.access_record.claims).unwrap_or_default();
        if req.response_type.token {
            id_claims.insert(
                "at_hash".into(),
                json!(claims::half_hash(&out.access_token)),
            );
        } else {
            id_claims.remove("at_hash");
        }
        if let Some(code) = code {
            id_claims.insert("c_hash".into(), json!(claims::half_hash(code)));
        }
        out.id_token = tokens::sign(&req.entry, &id_claims)?;
    }
    Ok(out)
}

/// Stores the code and the front-channel access token in one write transaction.
async fn store_grants(
    ctx: &GrantContext<'_>,
    code: Option<&AuthorizationCode>,
    access: Option<&store::grants::AccessToken>,
) -> Result<(), OAuthError> {
    let mut tx = ctx.context.store().write_tx().await.map_err(storage)?;
    if let Some(code) = code {
        store::grants::insert_code(tx.conn(), code)
            .await
            .map_err(storage)?;
    }
    if let Some(access) = access {
        store::grants::insert_access_token(tx.conn(), access)
            .await
            .map_err(storage)?;
    }
    tx.touch(Topic::Tokens);
    tx.commit().await.map_err(storage)
}

/// Records `authorize_application` (a failure to record is logged, not fatal).
async fn record_authorization(
    ctx: &GrantContext<'_>,
    req: &ValidatedAuthorize,
    who: &Authorizer<'_>,
) {
    let app = req
        .entry
        .application
        .as_ref()
        .map(|a| a.slug.clone())
        .unwrap_or_default();
    let subject = EventSubject {
        user_id: Some(who.user_id.to_string()),
        client_ip: who.client_ip.to_string(),
        app,
        ..Default::default()
    };
    if let Err(e) = ctx
        .context
        .record_event(
            crate::flows::actions::AUTHORIZE_APPLICATION,
            subject,
            json!({ "scopes": req.scopes, "response_type": req.response_type.grant() }),
        )
        .await
    {
        tracing::warn!(error = %e, "cannot record authorize_application");
    }
}
