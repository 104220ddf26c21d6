//! The device authorization grant (RFC 8628), protocol side: the device authorization endpoint
//! and the user-code format. The device code (256 random bits) is stored only as a SHA-256
//! digest and the scope is fixed when the device asks. Polling with the code at the token
//! endpoint is the `device_code` grant, [`crate::oauth::grant::device_code`]; the user side
//! (lookup, approve, deny) is in [`crate::service::device`].

use rand::Rng;
use serde_json::{Value, json};

use super::errors::OAuthError;
use super::grant::{self, GrantContext, GrantType, TokenRequest, server_error};
use super::lifetimes::validity;
use crate::crypto::secrets;
use crate::domain::new_id;
use crate::store::{Topic, device_codes};

/// The user-code alphabet: consonants only, so no word, digit or look-alike can be formed.
pub const USER_CODE_ALPHABET: &str = "BCDFGHJKLMNPQRSTVWXZ";
/// Characters in a user code (20^8 ≈ 2^34.6 combinations).
pub const USER_CODE_LEN: usize = 8;
/// The interval (seconds) a client starts polling at (RFC 8628 §3.2 default).
pub const DEFAULT_INTERVAL: i64 = 5;
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

/// `POST /application/o/device/` (RFC 8628 §3.1–3.2): authenticates the client as the token
/// endpoint does, then records a pending device code and returns the device authorization
/// response.
pub async fn authorize(ctx: &GrantContext<'_>, req: &TokenRequest) -> Result<Value, OAuthError> {
    let entry = &grant::authenticate_client(ctx.snapshot, req, GrantType::DeviceCode)?.entry;
    if entry.application.is_none() {
        return Err(OAuthError::unauthorized_client(
            "this client is not attached to an application",
        ));
    }
    let scopes = grant::granted_scopes(entry, req.params.get("scope").map(String::as_str));
    let now = ctx.context.now();
    let expires_in = validity(&entry.provider.oauth2.device_code_validity, 600).clamp(1, 86_400);
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
