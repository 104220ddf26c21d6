//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): the `id_token_hint` must be one
//! of ours for this client (signature, issuer, audience; expiry is allowed to have passed), and
//! `post_logout_redirect_uri` must match a registered logout URI exactly.

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

use super::snapshot::ProviderEntry;
use super::{discovery, redirect_uri};
use crate::domain::RedirectUriType;

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
