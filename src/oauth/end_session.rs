//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): the `id_token_hint` must be one
//! of ours for this client (signature, issuer, audience; expiry is allowed to have passed), and
//! `post_logout_redirect_uri` must match a registered logout URI exactly.

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};

use super::session_step::sign_out;
use super::snapshot::{ProviderEntry, Snapshot};
use super::{discovery, logout, redirect_uri};
use crate::context::{Context, EventSubject};
use crate::domain::RedirectUriType;
use crate::flows::session::Session;
use crate::store::StoreResult;

/// Why a logout request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndSessionError {
    #[error("the id_token_hint was not issued by this provider for this application")]
    BadHint,
    #[error("post_logout_redirect_uri is not registered for this application")]
    BadRedirect,
}

/// Verifies an ID token hint; returns its claims.
pub fn verify_hint(
    public_url: &str,
    entry: &ProviderEntry,
    hint: &str,
) -> Result<Value, EndSessionError> {
    let issuer = discovery::issuer(public_url, entry).ok_or(EndSessionError::BadHint)?;
    // An encrypted provider's ID tokens are JWEs (five parts): open it with our own key first.
    let opened;
    let hint = match &entry.encryption_key {
        Some(key) if hint.split('.').count() == 5 => {
            opened = key
                .decrypt(hint)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or(EndSessionError::BadHint)?;
            opened.as_str()
        }
        _ => hint,
    };
    let header = jsonwebtoken::decode_header(hint).map_err(|_| EndSessionError::BadHint)?;
    let (key, alg) = match header.alg {
        Algorithm::HS256 if entry.signing_key.is_none() && entry.signing_key_error.is_none() => (
            DecodingKey::from_secret(entry.provider.oauth2.client_secret.as_bytes()),
            Algorithm::HS256,
        ),
        _ => {
            let kid = header.kid.as_deref().ok_or(EndSessionError::BadHint)?;
            let key = entry
                .published_keys()
                .into_iter()
                .find(|k| k.kid == kid)
                .ok_or(EndSessionError::BadHint)?;
            // The key's own algorithm, never the one the token claims (no algorithm confusion).
            (key.decoding.clone(), key.algorithm)
        }
    };
    let mut v = Validation::new(alg);
    v.validate_exp = false;
    v.required_spec_claims.clear();
    v.set_audience(&[&entry.provider.client_id]);
    v.set_issuer(&[&issuer]);
    jsonwebtoken::decode::<Value>(hint, &key, &v)
        .map(|d| d.claims)
        .map_err(|_| EndSessionError::BadHint)
}

/// Checks `post_logout_redirect_uri` against the provider's logout URIs.
pub fn check_redirect(entry: &ProviderEntry, uri: &str) -> Result<(), EndSessionError> {
    redirect_uri::check(
        &entry.provider.oauth2.redirect_uris,
        RedirectUriType::Logout,
        Some(uri),
    )
    .map_err(|_| EndSessionError::BadRedirect)
}

/// Checks a logout request's parameters (`id_token_hint`, `post_logout_redirect_uri`) and
/// returns where the browser goes afterwards, with the client's `state` appended, if anywhere.
/// `get` reads one non-empty parameter.
pub fn logout_target<'a>(
    public_url: &str,
    entry: &ProviderEntry,
    get: impl Fn(&str) -> Option<&'a str>,
) -> Result<Option<String>, EndSessionError> {
    if let Some(hint) = get("id_token_hint") {
        verify_hint(public_url, entry, hint)?;
    }
    let Some(uri) = get("post_logout_redirect_uri") else {
        return Ok(None);
    };
    check_redirect(entry, uri)?;
    Ok(Some(match get("state") {
        Some(s) => {
            let sep = if uri.contains('?') { '&' } else { '?' };
            let enc: String = form_urlencoded::Serializer::new(String::new())
                .append_pair("state", s)
                .finish();
            format!("{uri}{sep}{enc}")
        }
        None => uri.to_string(),
    }))
}

/// Ends the browser session of an RP-initiated logout for real: the front-channel relying
/// parties are found first (by the tokens the session holds), then the session ends (the
/// back-channel parties are told) and `logout` is recorded. Returns the front-channel logout
/// URLs for the sign-out page to load; an anonymous session just stays as it is.
pub async fn end_browser_session(
    ctx: &Context,
    snapshot: &Snapshot,
    sess: &mut Session,
    client_ip: &str,
    app_slug: &str,
) -> StoreResult<Vec<String>> {
    let Some(user_id) = sess.user_id.clone() else {
        return Ok(Vec::new());
    };
    let frames = logout::frontchannel_urls(ctx, snapshot, &sess.sid())
        .await
        .into_iter()
        .map(|f| f.url)
        .collect();
    sign_out(ctx, sess).await?;
    let subject = EventSubject {
        user_id: Some(user_id),
        client_ip: client_ip.to_string(),
        app: app_slug.to_string(),
        ..Default::default()
    };
    if let Err(e) = ctx
        .record_event("logout", subject, json!({ "via": "end_session" }))
        .await
    {
        tracing::warn!(error = %e, "cannot record logout");
    }
    Ok(frames)
}
