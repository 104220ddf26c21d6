//! The endpoint stage's challenge and the Agent's answer, as authentik and ak-sysd make them:
//! the server signs `{atc, iss, iat, exp}` with the connector's challenge key (its `kid` in
//! the header, so the Agent finds the key in `agent_config`'s `jwks_challenge`); the Agent
//! answers with an HS512 JWT keyed by its device token: `{iss: serial, aud, atc: the challenge,
//! iat, exp}`.
//!
//! latchkey keeps no device token, only digests. HMAC (RFC 2104) first hashes a key longer than
//! its block (128 bytes for SHA-512) with the same hash, so for such a token the SHA-512 digest
//! ([`answer_key`]) verifies the answer exactly as the token would; it is no API credential
//! (the Agent's API compares SHA-256 digests of the token itself).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha512};

use super::CryptoError;
use super::jwk::SigningKey;
use super::secrets;

/// The audience of the Agent's answer (authentik's and ak-sysd's).
pub const ANSWER_AUDIENCE: &str = "goauthentik.io/platform/endpoint";

/// How long a challenge and an answer are valid (authentik: five minutes).
pub const LIFETIME_SECONDS: i64 = 5 * 60;

/// SHA-512's block size: a longer HMAC key enters HMAC as its digest.
const HMAC_SHA512_BLOCK: usize = 128;

/// The claims of the stage's challenge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChallengeClaims {
    /// A random nonce.
    pub atc: String,
    /// The stage's id.
    pub iss: String,
    pub iat: i64,
    pub exp: i64,
    /// Asks the Agent to check in before it answers (the connector's
    /// `challenge_trigger_check_in`), so the facts a policy reads next are fresh.
    #[serde(rename = "goauthentik.io/device/check_in", default)]
    pub check_in: bool,
}

/// The claims of the Agent's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnswerClaims {
    /// The device's serial (its identifier).
    pub iss: String,
    pub aud: String,
    /// The challenge answered, the whole JWT.
    pub atc: String,
    pub iat: i64,
    pub exp: i64,
}

/// Why an answer is refused.
#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    #[error("the answer is not a JWT with an issuer")]
    Malformed,
    #[error("the answer's signature, audience, issuer or lifetime is wrong: {0}")]
    Invalid(#[from] jsonwebtoken::errors::Error),
    #[error("the answer is for another challenge")]
    OtherChallenge,
}

/// Signs a fresh challenge for the stage `stage_id` at `now` with the challenge key; `check_in`
/// asks the Agent to check in first.
pub fn sign_challenge(
    key: &SigningKey,
    stage_id: &str,
    now: i64,
    check_in: bool,
) -> Result<String, CryptoError> {
    let claims = ChallengeClaims {
        atc: secrets::random_alnum(32),
        iss: stage_id.to_string(),
        iat: now,
        exp: now + LIFETIME_SECONDS,
        check_in,
    };
    let mut header = Header::new(key.algorithm);
    header.kid = Some(key.kid.clone());
    key.signer.sign_jwt(&header, &claims)
}

/// The key that verifies a device's answers, stored beside its token's digest: the SHA-512
/// digest (hex) of a token longer than 128 bytes; `None` for a shorter token, whose answers
/// cannot be verified without the token itself.
pub fn answer_key(device_token: &str) -> Option<String> {
    (device_token.len() > HMAC_SHA512_BLOCK)
        .then(|| secrets::hex(&Sha512::digest(device_token.as_bytes())))
}

/// The serial an answer claims to come from, read before its signature is checked (to find
/// the device whose key checks it).
pub fn claimed_serial(answer: &str) -> Result<String, AnswerError> {
    #[derive(Deserialize)]
    struct Issuer {
        iss: String,
    }
    let payload = answer.split('.').nth(1).ok_or(AnswerError::Malformed)?;
    let bytes = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| AnswerError::Malformed)?;
    let claims: Issuer = serde_json::from_slice(&bytes).map_err(|_| AnswerError::Malformed)?;
    Ok(claims.iss)
}

/// Verifies an answer with the device's [`answer_key`] (hex): HS512, our audience, issued by
/// `serial`, unexpired at `now`, and answering `challenge` (compared in constant time).
pub fn verify_answer(
    answer: &str,
    answer_key_hex: &str,
    serial: &str,
    challenge: &str,
    now: i64,
) -> Result<AnswerClaims, AnswerError> {
    let key = decode_hex(answer_key_hex).ok_or(AnswerError::Malformed)?;
    let mut validation = Validation::new(Algorithm::HS512);
    validation.set_audience(&[ANSWER_AUDIENCE]);
    validation.set_issuer(&[serial]);
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    validation.validate_exp = false;
    let data =
        jsonwebtoken::decode::<AnswerClaims>(answer, &DecodingKey::from_secret(&key), &validation)?;
    if data.claims.exp <= now {
        return Err(jsonwebtoken::errors::Error::from(
            jsonwebtoken::errors::ErrorKind::ExpiredSignature,
        )
        .into());
    }
    if !secrets::constant_time_eq(&data.claims.atc, challenge) {
        return Err(AnswerError::OtherChallenge);
    }
    Ok(data.claims)
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::EncodingKey;

    fn answer(token: &str, claims: &AnswerClaims) -> String {
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS512),
            claims,
            &EncodingKey::from_secret(token.as_bytes()),
        )
        .expect("sign")
    }

    fn claims(challenge: &str, now: i64) -> AnswerClaims {
        AnswerClaims {
            iss: "SN-1".into(),
            aud: ANSWER_AUDIENCE.into(),
            atc: challenge.into(),
            iat: now,
            exp: now + 300,
        }
    }

    #[test]
    fn the_digest_of_a_long_token_verifies_what_the_token_signed() {
        let token = "t".repeat(160);
        let key = answer_key(&token).expect("long enough");
        let a = answer(&token, &claims("ch", 1000));
        assert_eq!(claimed_serial(&a).expect("serial"), "SN-1");
        assert!(verify_answer(&a, &key, "SN-1", "ch", 1001).is_ok());
        let refusals = [
            verify_answer(&a, &key, "SN-2", "ch", 1001).err(),
            verify_answer(&a, &key, "SN-1", "other", 1001).err(),
            verify_answer(&a, &key, "SN-1", "ch", 1300).err(),
            verify_answer(
                &a,
                &answer_key(&"u".repeat(160)).expect("k"),
                "SN-1",
                "ch",
                1001,
            )
            .err(),
        ];
        assert!(refusals.iter().all(Option::is_some), "{refusals:?}");
        let mut wrong_aud = claims("ch", 1000);
        wrong_aud.aud = "someone-else".into();
        assert!(verify_answer(&answer(&token, &wrong_aud), &key, "SN-1", "ch", 1001).is_err());
    }

    #[test]
    fn a_short_token_has_no_answer_key() {
        assert_eq!(answer_key(&"t".repeat(128)), None);
        assert!(claimed_serial("not a jwt").is_err());
    }
}
