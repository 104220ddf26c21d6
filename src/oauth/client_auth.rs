//! Client authentication at the token, introspection and revocation endpoints (RFC 6749 §2.3.1):
//! HTTP Basic with Appendix B form-encoding, or `client_id`/`client_secret` in the body — never
//! both — and secrets compared in constant time, as digests: the snapshot keeps each client's
//! (no slow hash on this path: secrets are random).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::errors::OAuthError;
use super::snapshot::{ClientEntry, Snapshot};
use crate::crypto::secrets::matches_digest;
use crate::domain::ClientType;

/// Credentials as the client presented them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresentedCredentials {
    pub client_id: String,
    pub client_secret: Option<String>,
    /// True when they came in an `Authorization: Basic` header.
    pub via_basic: bool,
}

fn form_decode(s: &str) -> Result<String, OAuthError> {
    percent_encoding::percent_decode_str(&s.replace('+', " "))
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| OAuthError::invalid_client("malformed Basic credentials encoding"))
}

/// Reads the client's credentials from the Authorization header and the form body.
pub fn extract(
    authorization: Option<&str>,
    form_client_id: Option<&str>,
    form_client_secret: Option<&str>,
) -> Result<Option<PresentedCredentials>, OAuthError> {
    let basic = match authorization {
        Some(h) if h.len() > 6 && h.as_bytes()[..6].eq_ignore_ascii_case(b"basic ") => {
            let raw = STANDARD
                .decode(h[6..].trim())
                .map_err(|_| OAuthError::invalid_client("malformed Basic credentials"))?;
            let raw = String::from_utf8(raw)
                .map_err(|_| OAuthError::invalid_client("malformed Basic credentials"))?;
            let (id, secret) = raw
                .split_once(':')
                .ok_or_else(|| OAuthError::invalid_client("malformed Basic credentials"))?;
            Some(PresentedCredentials {
                client_id: form_decode(id)?,
                client_secret: Some(form_decode(secret)?),
                via_basic: true,
            })
        }
        _ => None,
    };
    match (basic, form_client_id) {
        (Some(_), _) if form_client_secret.is_some() => Err(OAuthError::invalid_request(
            "use one client authentication method: Basic or client_secret in the body, not both",
        )),
        (Some(b), Some(id)) if id != b.client_id => Err(OAuthError::invalid_request(
            "client_id in the body differs from the Basic credentials",
        )),
        (Some(b), _) => Ok(Some(b)),
        (None, Some(id)) => Ok(Some(PresentedCredentials {
            client_id: id.to_string(),
            client_secret: form_client_secret.map(str::to_string),
            via_basic: false,
        })),
        (None, None) => Ok(None),
    }
}

/// Finds and authenticates the client: confidential clients must present their secret, public
/// clients must not present one.
pub fn authenticate<'s>(
    snapshot: &'s Snapshot,
    creds: Option<&PresentedCredentials>,
) -> Result<&'s ClientEntry, OAuthError> {
    let creds =
        creds.ok_or_else(|| OAuthError::invalid_client("client authentication required"))?;
    let client = snapshot
        .client(&creds.client_id)
        .ok_or_else(|| OAuthError::invalid_client("unknown client or wrong secret"))?;
    let settings = &client.entry.provider.oauth2;
    let presented = creds.client_secret.as_deref().filter(|s| !s.is_empty());
    match settings.client_type {
        ClientType::Confidential => {
            let ok = presented
                .zip(client.secret_digest.as_ref())
                .is_some_and(|(s, expected)| matches_digest(s, expected));
            if !ok {
                return Err(OAuthError::invalid_client("unknown client or wrong secret"));
            }
        }
        ClientType::Public => {
            if presented.is_some() {
                return Err(OAuthError::invalid_client(
                    "this is a public client: it must not send a client secret",
                ));
            }
        }
    }
    Ok(client)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(id: &str, secret: &str) -> String {
        format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
    }

    #[test]
    fn basic_uses_appendix_b_form_encoding() {
        let c = extract(Some(&basic("my%20app", "s%3Ac+r")), None, None)
            .expect("ok")
            .expect("some");
        assert_eq!(c.client_id, "my app");
        assert_eq!(c.client_secret.as_deref(), Some("s:c r"));
        assert!(c.via_basic);
    }

    #[test]
    fn both_methods_is_invalid_request() {
        let err = extract(Some(&basic("a", "b")), Some("a"), Some("b")).expect_err("both");
        assert_eq!(err.code, "invalid_request");
    }

    /// Found by the property tests: a multi-byte character across byte 6 panicked the slice.
    #[test]
    fn a_multibyte_character_after_the_scheme_is_not_basic() {
        for h in ["Basic\u{1f574}C", "Basi\u{e9} Zm9vOmJhcg=="] {
            assert!(extract(Some(h), None, None).expect(h).is_none(), "{h}");
        }
    }

    #[test]
    fn malformed_basic_is_invalid_client() {
        for h in ["Basic !!!", "Basic Zm9v"] {
            assert_eq!(
                extract(Some(h), None, None).expect_err(h).code,
                "invalid_client"
            );
        }
    }

    #[test]
    fn body_credentials() {
        let c = extract(None, Some("id"), Some("sec"))
            .expect("ok")
            .expect("some");
        assert_eq!(c.client_secret.as_deref(), Some("sec"));
        assert!(!c.via_basic);
        assert_eq!(extract(None, None, None).expect("ok"), None);
    }
}
