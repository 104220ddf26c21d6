//! The device authorization grant (RFC 8628), protocol side: the device authorization endpoint,
//! the `urn:ietf:params:oauth:grant-type:device_code` token grant, and the user-code format.
//!
//! The scope is fixed when the device asks; the device code (256 random bits) is stored only as
//! a SHA-256 digest; expiry is checked inline against the injected clock; `slow_down` raises the
//! stored interval for good; redemption is one conditional UPDATE so parallel polls yield one
//! success, and a replay of a redeemed code revokes every token it produced.
//! The user side (lookup, approve, deny) is in [`crate::service::device`].

use std::sync::Arc;

use rand::Rng;
use serde_json::{Value, json};

use super::client_auth;
use super::errors::OAuthError;
use super::grants::{
    self, DEVICE_CODE_GRANT, GrantContext, Mint, TokenRequest, scopes_of, server_error,
};
use super::snapshot::ProviderEntry;
use super::tokens::{self, Issued};
use crate::crypto::secrets;
use crate::domain::new_id;
use crate::store::{self, Topic, device_codes};

/// The user-code alphabet: consonants only, so no word, digit or look-alike can be formed.
pub const USER_CODE_ALPHABET: &str = "BCDFGHJKLMNPQRSTVWXZ";
/// Characters in a user code (20^8 ≈ 2^34.6 combinations).
pub const USER_CODE_LEN: usize = 8;
/// The interval (seconds) a client starts polling at (RFC 8628 §3.2 default).
pub const DEFAULT_INTERVAL: i64 = 5;
/// What `slow_down` adds to the interval (RFC 8628 §3.5).
pub const SLOW_DOWN_STEP: i64 = 5;
/// Bytes of randomness in a device code.
const DEVICE_CODE_BYTES: usize = 32;

/// A fresh user code, canonical form (no separator).
pub fn new_user_code() -> String {
    let alphabet = USER_CODE_ALPHABET.as_bytes();
    let mut rng = rand::rng();
    (0..USER_CODE_LEN)
        .map(|_| char::from(alphabet[rng.random_range(0..alphabet.len())]))
        .collect()
}

/// The user code as shown to people: `XXXX-XXXX`.
pub fn display_user_code(canonical: &str) -> String {
    let (a, b) = canonical.split_at(canonical.len().min(USER_CODE_LEN / 2));
    format!("{a}-{b}")
}

/// Normalises what a person typed (any case, spaces, dashes, dots…) to the canonical form;
/// `None` when it cannot be a user code.
pub fn normalize_user_code(input: &str) -> Option<String> {
    if input.len() > 64 {
        return None;
    }
    let code: String = input
        .chars()
        .filter(|c| c.is_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (code.chars().count() == USER_CODE_LEN && code.chars().all(|c| USER_CODE_ALPHABET.contains(c)))
        .then_some(code)
}

/// The scopes a device request gets (the token endpoint's rule).
pub fn granted_scopes(entry: &ProviderEntry, requested: Option<&str>) -> Vec<String> {
    super::grants::granted_scopes(entry, requested)
}

/// `POST /application/o/device/` (RFC 8628 §3.1–3.2): authenticates the client as the token
/// endpoint does, then records a pending device code and returns the device authorization
/// response.
pub async fn authorize(ctx: &GrantContext<'_>, req: &TokenRequest) -> Result<Value, OAuthError> {
    let creds = client_auth::extract(
        req.authorization.as_deref(),
        req.params
            .get("client_id")
            .map(String::as_str)
            .filter(|s| !s.is_empty()),
        req.params.get("client_secret").map(String::as_str),
    )?;
    let entry = client_auth::authenticate(ctx.snapshot, creds.as_ref())?;
    if !entry
        .provider
        .oauth2
        .grant_types
        .iter()
        .any(|g| g == DEVICE_CODE_GRANT)
    {
        return Err(OAuthError::unauthorized_client(
            "this client may not use the device code grant",
        ));
    }
    if entry.application.is_none() {
        return Err(OAuthError::unauthorized_client(
            "this client is not attached to an application",
        ));
    }
    let scopes = granted_scopes(&entry, req.params.get("scope").map(String::as_str));
    let now = ctx.context.now();
    let expires_in =
        tokens::validity(&entry.provider.oauth2.device_code_validity, 600).clamp(1, 86_400);
    let device_code = secrets::random_token(DEVICE_CODE_BYTES);
    let mut tx = ctx.context.store().write_tx().await.map_err(server_error)?;
    // The write lock is held, so a user code checked free here stays free until commit.
    let mut free = None;
    for _ in 0..8 {
        let candidate = new_user_code();
        if device_codes::find_by_user_code(tx.conn(), &candidate)
            .await
            .map_err(server_error)?
            .is_none()
        {
            free = Some(candidate);
            break;
        }
    }
    // Never let a duplicate-key error (which names the value) reach the logs.
    let user_code = free.ok_or_else(|| server_error("no free user code after 8 tries"))?;
    let id = new_id();
    let record = device_codes::DeviceCode {
        id: id.clone(),
        device_code_digest: secrets::digest(&device_code),
        user_code: user_code.clone(),
        provider_id: entry.provider.id.clone(),
        user_id: None,
        session_id: None,
        scope: scopes.join(" "),
        status: device_codes::PENDING.into(),
        poll_interval: DEFAULT_INTERVAL,
        last_polled_at: None,
        family_id: Some(id),
        auth_time: None,
        expires_at: now + expires_in,
        consumed_at: None,
        created_at: now,
    };
    device_codes::insert(tx.conn(), &record)
        .await
        .map_err(server_error)?;
    tx.touch(Topic::Tokens);
    tx.commit().await.map_err(server_error)?;
    let shown = display_user_code(&user_code);
    let verification_uri = format!("{}/device", ctx.context.config().public_url);
    Ok(json!({
        "device_code": device_code,
        "user_code": shown,
        "verification_uri": verification_uri,
        "verification_uri_complete": format!("{verification_uri}?code={shown}"),
        "expires_in": expires_in,
        "interval": DEFAULT_INTERVAL,
    }))
}

/// Revokes what a redeemed device code produced (its replay is a stolen-code signal).
async fn revoke_replayed(
    ctx: &GrantContext<'_>,
    req: &TokenRequest,
    code: &device_codes::DeviceCode,
) -> OAuthError {
    let now = ctx.context.now();
    let family = code.family_id.as_deref().unwrap_or(&code.id);
    let result = async {
        let mut tx = ctx.context.store().write_tx().await?;
        store::grants::revoke_family(tx.conn(), family, now).await?;
        tx.touch(Topic::Tokens);
        tx.commit().await
    }
    .await;
    if let Err(e) = result {
        return server_error(e);
    }
    grants::suspicious(
        ctx,
        req,
        "device code replayed",
        code.user_id.as_deref().unwrap_or(""),
    )
    .await;
    OAuthError::invalid_grant("the device code was already used")
}

/// The device code grant at the token endpoint (RFC 8628 §3.4–3.5), after client
/// authentication and the grant-type check.
pub async fn token(
    ctx: &GrantContext<'_>,
    entry: &Arc<ProviderEntry>,
    req: &TokenRequest,
) -> Result<Issued, OAuthError> {
    let value = req
        .params
        .get("device_code")
        .filter(|v| !v.is_empty())
        .ok_or_else(|| OAuthError::invalid_request("device_code is required"))?;
    let code = {
        let mut conn = ctx.context.store().read().await.map_err(server_error)?;
        device_codes::find_by_digest(&mut conn, &secrets::digest(value))
            .await
            .map_err(server_error)?
    }
    .filter(|c| c.provider_id == entry.provider.id)
    .ok_or_else(|| {
        OAuthError::invalid_grant("the device code is invalid or was issued to another client")
    })?;
    if code.consumed_at.is_some() {
        return Err(revoke_replayed(ctx, req, &code).await);
    }
    let now = ctx.context.now();
    if now >= code.expires_at {
        return Err(OAuthError::expired_token());
    }
    match code.status.as_str() {
        device_codes::DENIED => return Err(OAuthError::access_denied()),
        device_codes::APPROVED => {}
        _ => return Err(pending_poll(ctx, &code, now).await),
    }
    let user_id = code
        .user_id
        .as_deref()
        .ok_or_else(|| server_error("approved device code without a user"))?;
    let user = grants::load_user(ctx, user_id).await?;
    let scopes = scopes_of(&code.scope);
    let family = code.family_id.clone().unwrap_or_else(|| code.id.clone());
    let issued = grants::mint(
        ctx,
        Mint {
            entry,
            user: &user,
            scopes: &scopes,
            nonce: None,
            auth_time: code.auth_time.unwrap_or(now),
            session_id: code.session_id.as_deref(),
            family_id: &family,
            with_refresh: scopes.iter().any(|s| s == "offline_access"),
            amr: &["pwd".to_string()],
            id_token_at_hash: true,
        },
    )?;
    let mut tx = ctx.context.store().write_tx().await.map_err(server_error)?;
    if !device_codes::consume(tx.conn(), &code.id, now)
        .await
        .map_err(server_error)?
    {
        // A parallel poll redeemed it between our read and this write.
        return Err(OAuthError::invalid_grant(
            "the device code was already used",
        ));
    }
    grants::store_issued(&mut tx, &issued).await?;
    tx.commit().await.map_err(server_error)?;
    Ok(issued)
}

/// A poll of a pending code: `authorization_pending`, or `slow_down` when it came sooner than
/// the interval (which then grows by 5 s and stays grown for every later poll).
async fn pending_poll(
    ctx: &GrantContext<'_>,
    code: &device_codes::DeviceCode,
    now: i64,
) -> OAuthError {
    let too_fast = code
        .last_polled_at
        .is_some_and(|last| now - last < code.poll_interval);
    let interval = if too_fast {
        code.poll_interval + SLOW_DOWN_STEP
    } else {
        code.poll_interval
    };
    let result = async {
        let mut tx = ctx.context.store().write_tx().await?;
        device_codes::record_poll(tx.conn(), &code.id, now, interval).await?;
        tx.commit().await
    }
    .await;
    match result {
        Err(e) => server_error(e),
        Ok(()) if too_fast => OAuthError::slow_down(),
        Ok(()) => OAuthError::authorization_pending(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_use_the_alphabet_and_normalise() {
        let c = new_user_code();
        assert_eq!(c.len(), USER_CODE_LEN);
        assert!(c.chars().all(|ch| USER_CODE_ALPHABET.contains(ch)));
        let shown = display_user_code(&c);
        assert_eq!(shown.len(), 9);
        assert_eq!(normalize_user_code(&shown.to_lowercase()), Some(c.clone()));
        assert_eq!(normalize_user_code(" bcdf .ghjk "), Some("BCDFGHJK".into()));
        assert_eq!(normalize_user_code("BCDF-GHJA"), None);
        assert_eq!(normalize_user_code("BCDF-GHJ"), None);
        assert_eq!(normalize_user_code("BCDF-GHJKL"), None);
    }
}
