//! WebAuthn ceremonies (registration and assertion) over webauthn-rs-core: the relying party is
//! the configured public URL (RP id = its host without the port, origin = its origin, as
//! authentik derives both from the request it serves), every check of attestation, signature,
//! challenge, origin, RP id, user verification and signature counter is the crate's. The
//! ceremony states are serde values, kept in the flow plan between challenge and response.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use url::Url;
use webauthn_rs_core::WebauthnCore;
use webauthn_rs_core::error::WebauthnError;
use webauthn_rs_core::proto::{
    AuthenticationResult, AuthenticationState, AuthenticatorAttachment as CoreAttachment,
    Credential, PublicKeyCredential, RegisterPublicKeyCredential, RegistrationState,
    ResidentKeyRequirement as CoreResidentKey, UserVerificationPolicy,
};

use crate::domain::{
    AuthenticatorAttachment, AuthenticatorWebauthnSettings, ResidentKeyRequirement,
    WebauthnUserVerification,
};

/// How long the browser may take (the WebAuthn recommendation, as authentik's library sends).
const TIMEOUT: Duration = Duration::from_secs(60);

/// Why a ceremony failed; the message is for the log and the user's error, never a secret.
#[derive(Debug, thiserror::Error)]
pub enum CeremonyError {
    /// The public URL has no host to be an RP id.
    #[error("the public URL {0} has no host to use as the WebAuthn RP id")]
    NoRpId(String),
    /// The browser's answer is not a credential.
    #[error("malformed credential: {0}")]
    Malformed(String),
    /// The crate refused (wrong origin, RP id, challenge, signature, policy…).
    #[error("{0}")]
    Refused(String),
    /// The signature counter did not move past the stored one: the key may have been copied.
    #[error("the sign counter did not advance: the credential may be cloned")]
    PossibleClone,
}

/// The relying party: who the credentials belong to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelyingParty {
    /// The RP id: the public URL's host, without the port.
    pub id: String,
    /// The only origin accepted in client data.
    pub origin: Url,
}

impl RelyingParty {
    /// The relying party of a public URL such as `https://id.example.com:8443/`.
    pub fn of_public_url(public_url: &str) -> Result<Self, CeremonyError> {
        let url = Url::parse(public_url).map_err(|_| CeremonyError::NoRpId(public_url.into()))?;
        let id = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| CeremonyError::NoRpId(public_url.into()))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let origin = Url::parse(&url.origin().ascii_serialization())
            .map_err(|_| CeremonyError::NoRpId(public_url.into()))?;
        Ok(Self { id, origin })
    }

    fn core(&self) -> WebauthnCore {
        WebauthnCore::new_unsafe_experts_only(
            "latchkey",
            &self.id,
            vec![self.origin.clone()],
            TIMEOUT,
            Some(false),
            Some(false),
        )
    }
}

/// The user a credential is registered for.
pub struct Account<'a> {
    /// The user handle stored in the credential (the user's id).
    pub handle: &'a str,
    /// The username.
    pub name: &'a str,
    /// The display name (the username when the user has no name).
    pub display_name: &'a str,
}

fn policy(uv: WebauthnUserVerification) -> UserVerificationPolicy {
    match uv {
        WebauthnUserVerification::Required => UserVerificationPolicy::Required,
        WebauthnUserVerification::Preferred => UserVerificationPolicy::Preferred,
        WebauthnUserVerification::Discouraged => UserVerificationPolicy::Discouraged_DO_NOT_USE,
    }
}

/// Starts a registration: the `PublicKeyCredentialCreationOptions` JSON for the browser
/// (authentik's `registration`) and the state to keep. `exclude` are the credential ids the
/// user has already (the authenticator refuses to register one twice).
pub fn start_registration(
    rp: &RelyingParty,
    account: &Account<'_>,
    settings: &AuthenticatorWebauthnSettings,
    exclude: Vec<Vec<u8>>,
) -> Result<(Value, RegistrationState), CeremonyError> {
    let core = rp.core();
    let attachment = settings.authenticator_attachment.map(|a| match a {
        AuthenticatorAttachment::Platform => CoreAttachment::Platform,
        AuthenticatorAttachment::CrossPlatform => CoreAttachment::CrossPlatform,
    });
    let builder = core
        .new_challenge_register_builder(
            account.handle.as_bytes(),
            account.name,
            account.display_name,
        )
        .map_err(|e| CeremonyError::Refused(e.to_string()))?
        .user_verification_policy(policy(settings.user_verification))
        .require_resident_key(settings.resident_key_requirement == ResidentKeyRequirement::Required)
        .authenticator_attachment(attachment)
        .exclude_credentials((!exclude.is_empty()).then_some(exclude));
    let (mut options, state) = core
        .generate_challenge_register(builder)
        .map_err(|e| CeremonyError::Refused(e.to_string()))?;
    // The crate knows "required" and "discouraged"; "preferred" is only a hint to the browser.
    if let Some(sel) = options.public_key.authenticator_selection.as_mut() {
        sel.resident_key = Some(match settings.resident_key_requirement {
            ResidentKeyRequirement::Discouraged => CoreResidentKey::Discouraged,
            ResidentKeyRequirement::Preferred => CoreResidentKey::Preferred,
            ResidentKeyRequirement::Required => CoreResidentKey::Required,
        });
    }
    let json = serde_json::to_value(&options.public_key)
        .map_err(|e| CeremonyError::Malformed(e.to_string()))?;
    Ok((json, state))
}

/// Verifies the browser's registration answer (`response`, the credential JSON).
pub fn finish_registration(
    rp: &RelyingParty,
    credential_json: &str,
    state: &RegistrationState,
) -> Result<Credential, CeremonyError> {
    let reg: RegisterPublicKeyCredential = serde_json::from_str(credential_json)
        .map_err(|e| CeremonyError::Malformed(e.to_string()))?;
    rp.core()
        .register_credential(&reg, state, None)
        .map_err(|e| CeremonyError::Refused(e.to_string()))
}

/// Starts an assertion: the `PublicKeyCredentialRequestOptions` JSON (authentik's device
/// challenge) and the state to keep. No credentials: a discoverable (password-less) assertion.
pub fn start_assertion(
    rp: &RelyingParty,
    credentials: Vec<Credential>,
    uv: WebauthnUserVerification,
) -> Result<(Value, AuthenticationState), CeremonyError> {
    let core = rp.core();
    let builder = core
        .new_challenge_authenticate_builder(credentials, Some(policy(uv)))
        .map_err(|e| CeremonyError::Refused(e.to_string()))?
        .allow_backup_eligible_upgrade(true);
    let (options, state) = core
        .generate_challenge_authenticate(builder)
        .map_err(|e| CeremonyError::Refused(e.to_string()))?;
    let json = serde_json::to_value(&options.public_key)
        .map_err(|e| CeremonyError::Malformed(e.to_string()))?;
    Ok((json, state))
}

/// The browser's assertion, parsed: which credential answered and for which user handle.
pub struct Assertion {
    credential: PublicKeyCredential,
}

impl Assertion {
    /// Parses the assertion JSON.
    pub fn parse(json: &str) -> Result<Self, CeremonyError> {
        let credential: PublicKeyCredential =
            serde_json::from_str(json).map_err(|e| CeremonyError::Malformed(e.to_string()))?;
        Ok(Self { credential })
    }

    /// The credential id, base64url without padding (as stored).
    pub fn credential_id(&self) -> String {
        URL_SAFE_NO_PAD.encode(&self.credential.raw_id)
    }

    /// The user handle the authenticator returned, if any.
    pub fn user_handle(&self) -> Option<&[u8]> {
        self.credential.get_user_unique_id()
    }
}

/// Verifies an assertion against the one stored credential it names, and returns the credential
/// as it must be stored now (counter and backup flags moved on) with the new counter.
pub fn finish_assertion(
    rp: &RelyingParty,
    assertion: &Assertion,
    state: &AuthenticationState,
    stored: &Credential,
) -> Result<(Credential, u32), CeremonyError> {
    let result: AuthenticationResult = rp
        .core()
        .authenticate_single_credential(&assertion.credential, state, stored)
        .map_err(|e| match e {
            WebauthnError::CredentialPossibleCompromise => CeremonyError::PossibleClone,
            other => CeremonyError::Refused(other.to_string()),
        })?;
    let mut updated = stored.clone();
    if result.counter() > updated.counter {
        updated.counter = result.counter();
    }
    updated.backup_state = result.backup_state();
    updated.backup_eligible = result.backup_eligible();
    Ok((updated, result.counter()))
}

/// A credential id as stored: base64url without padding.
pub fn credential_id_text(id: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rp_id_is_the_public_hosts_name_without_port() {
        let rp = RelyingParty::of_public_url("https://id.example.com:8443/sub/").unwrap();
        assert_eq!(rp.id, "id.example.com");
        assert_eq!(rp.origin.as_str(), "https://id.example.com:8443/");
        let rp = RelyingParty::of_public_url("http://localhost:9000").unwrap();
        assert_eq!(rp.id, "localhost");
        assert_eq!(rp.origin.as_str(), "http://localhost:9000/");
        assert!(RelyingParty::of_public_url("not a url").is_err());
    }

    fn account() -> Account<'static> {
        Account {
            handle: "0190-user",
            name: "alice",
            display_name: "Alice",
        }
    }

    #[test]
    fn registration_options_follow_the_stage_settings() {
        let rp = RelyingParty::of_public_url("http://localhost:9000").unwrap();
        let settings = AuthenticatorWebauthnSettings {
            user_verification: WebauthnUserVerification::Required,
            resident_key_requirement: ResidentKeyRequirement::Required,
            authenticator_attachment: Some(AuthenticatorAttachment::CrossPlatform),
            ..Default::default()
        };
        let (json, _) = start_registration(&rp, &account(), &settings, Vec::new()).unwrap();
        assert_eq!(json["rp"]["id"], "localhost");
        assert_eq!(json["user"]["name"], "alice");
        assert_eq!(json["user"]["id"], URL_SAFE_NO_PAD.encode("0190-user"));
        let sel = &json["authenticatorSelection"];
        assert_eq!(sel["userVerification"], "required");
        assert_eq!(sel["residentKey"], "required");
        assert_eq!(sel["requireResidentKey"], true);
        assert_eq!(sel["authenticatorAttachment"], "cross-platform");

        let (json, _) = start_registration(
            &rp,
            &account(),
            &AuthenticatorWebauthnSettings::default(),
            vec![vec![1, 2, 3]],
        )
        .unwrap();
        let sel = &json["authenticatorSelection"];
        assert_eq!(sel["userVerification"], "preferred");
        assert_eq!(sel["residentKey"], "preferred");
        assert!(
            sel.get("authenticatorAttachment")
                .is_none_or(Value::is_null)
        );
        assert_eq!(json["excludeCredentials"][0]["id"], "AQID");
    }

    #[test]
    fn assertion_options_name_the_rp_and_the_policy() {
        let rp = RelyingParty::of_public_url("http://localhost:9000").unwrap();
        let (json, _) =
            start_assertion(&rp, Vec::new(), WebauthnUserVerification::Discouraged).unwrap();
        assert_eq!(json["rpId"], "localhost");
        assert_eq!(json["userVerification"], "discouraged");
        assert_eq!(json["allowCredentials"], serde_json::json!([]));
        assert!(json["challenge"].as_str().is_some_and(|c| c.len() >= 43));
    }

    #[test]
    fn malformed_answers_are_refused_not_panicked_on() {
        let rp = RelyingParty::of_public_url("http://localhost:9000").unwrap();
        let (_, state) =
            start_registration(&rp, &account(), &Default::default(), Vec::new()).unwrap();
        for bad in [
            "",
            "{}",
            "[]",
            r#"{"id":"x","rawId":"!!","type":"public-key"}"#,
        ] {
            assert!(matches!(
                finish_registration(&rp, bad, &state),
                Err(CeremonyError::Malformed(_))
            ));
            assert!(Assertion::parse(bad).is_err());
        }
    }
}
