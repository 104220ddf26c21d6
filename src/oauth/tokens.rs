//! Minting tokens: ID tokens and access tokens are JWTs signed with the provider's kept key
//! (authentik's layout: the access token carries the ID token's claims plus `azp` and `uid`),
//! refresh tokens are opaque. Only digests of what is issued are stored.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Map, Value};

use super::claims::{self, IdTokenInput};
use super::errors::OAuthError;
use super::signature_memo::SignatureMemo;
use super::snapshot::ProviderEntry;
use crate::crypto::{secrets, signer};
use crate::store::grants::{AccessToken, RefreshToken};

/// The provider's validity settings in seconds (see [`super::lifetimes`]).
pub use super::lifetimes::validity;

/// HS256 needs a client secret of at least this many bytes (RFC 7518 §3.2).
pub const MIN_HS256_SECRET: usize = 32;

/// Signs claims with the provider's key and, when the provider has an encryption key, wraps the
/// JWS in a JWE (authentik encrypts every JWT it issues for such a provider). A configured key
/// that cannot be loaded is an error — never a silent fall back to HS256 or to plaintext — and
/// HS256 needs a long enough client secret.
pub fn sign(entry: &ProviderEntry, claims: &Map<String, Value>) -> Result<String, OAuthError> {
    sign_with_typ(entry, claims, None)
}

/// [`sign`] with an explicit `typ` header (Logout Tokens are `logout+jwt`).
pub fn sign_with_typ(
    entry: &ProviderEntry,
    claims: &Map<String, Value>,
    typ: Option<&str>,
) -> Result<String, OAuthError> {
    let jws = sign_payload(entry, &encode_claims(claims)?, typ)?;
    seal(entry, jws)
}

/// The claims' JSON: what a JWS signs, and what the store keeps of an access token.
fn encode_claims(claims: &Map<String, Value>) -> Result<Vec<u8>, OAuthError> {
    serde_json::to_vec(claims)
        .map_err(|e| OAuthError::server_error(format!("cannot encode claims: {e}")))
}

/// Wraps a signed JWT in the provider's JWE when it has an encryption key; a configured key
/// that could not be loaded refuses, never sends the token in clear.
fn seal(entry: &ProviderEntry, jws: String) -> Result<String, OAuthError> {
    if let Some(err) = &entry.encryption_key_error {
        tracing::error!(provider = %entry.provider.name, %err, "encryption key unusable");
        return Err(OAuthError::server_error(
            "the provider's encryption key cannot be used (the server log says why); an \
             administrator must choose an RSA certificate as its Encryption Key or clear it",
        ));
    }
    match &entry.encryption_key {
        Some(key) => key
            .encrypt(jws.as_bytes())
            .map_err(|e| OAuthError::server_error(format!("cannot encrypt: {e}"))),
        None => Ok(jws),
    }
}

/// [`sign`] for tokens whose claims are not bound to anything unique (an ID token without
/// `at_hash`, as authentik issues for client_credentials): claims identical to the last ones
/// this client signed that way reuse that signature. Claims carry `iat`/`exp` in seconds, so
/// this only saves work for the same subject and scopes within one second — a busy service
/// account — and the token is exactly what signing again would give (RS256 and EdDSA are
/// deterministic; an ECDSA signature is as valid as a fresh one).
/// `encoded` is the claims serialised (the caller stores it anyway): the memo's key, and what
/// is signed on a miss.
fn sign_memoized(
    entry: &ProviderEntry,
    memo: &SignatureMemo,
    encoded: &str,
) -> Result<String, OAuthError> {
    let jws = match memo.get(encoded.as_bytes()) {
        Some(jws) => jws,
        None => {
            let jws = sign_payload(entry, encoded.as_bytes(), None)?;
            memo.put(encoded.as_bytes().to_vec(), jws.clone());
            jws
        }
    };
    seal(entry, jws)
}

/// The signed (never encrypted) JWT over serialised claims. A kept key's header is encoded
/// once per snapshot ([`crate::crypto::jwk::SigningKey::jws_header`]); only a `typ` asks for
/// another.
fn sign_payload(
    entry: &ProviderEntry,
    payload: &[u8],
    typ: Option<&str>,
) -> Result<String, OAuthError> {
    let cannot_sign =
        |e: &dyn std::fmt::Display| OAuthError::server_error(format!("cannot sign: {e}"));
    if let Some(key) = &entry.signing_key {
        let typed;
        let header = match typ {
            None => key.jws_header.as_str(),
            Some(t) => {
                let mut header = Header::new(key.algorithm);
                header.kid = Some(key.kid.clone());
                header.typ = Some(t.to_string());
                typed = signer::encoded_header(&header).map_err(|e| cannot_sign(&e))?;
                typed.as_str()
            }
        };
        return key
            .signer
            .sign_compact(header, payload)
            .map_err(|e| cannot_sign(&e));
    }
    if let Some(err) = &entry.signing_key_error {
        tracing::error!(provider = %entry.provider.name, %err, "signing key unusable");
        return Err(OAuthError::server_error(
            "the provider's signing key is unusable; an administrator must fix it",
        ));
    }
    let secret = entry.provider.oauth2.client_secret.as_bytes();
    if secret.len() < MIN_HS256_SECRET {
        return Err(OAuthError::server_error(
            "the provider has no signing key and its client secret is too short for HS256",
        ));
    }
    let mut header = Header::new(Algorithm::HS256);
    if let Some(t) = typ {
        header.typ = Some(t.to_string());
    }
    let mut message = signer::encoded_header(&header).map_err(|e| cannot_sign(&e))?;
    message.push('.');
    URL_SAFE_NO_PAD.encode_string(payload, &mut message);
    let signature = jsonwebtoken::crypto::sign(
        message.as_bytes(),
        &EncodingKey::from_secret(secret),
        Algorithm::HS256,
    )
    .map_err(|e| cannot_sign(&e))?;
    message.push('.');
    message.push_str(&signature);
    Ok(message)
}

/// What a grant wants issued.
#[derive(Debug, Clone)]
pub struct IssueRequest<'a> {
    pub entry: &'a ProviderEntry,
    pub issuer: &'a str,
    pub user_id: &'a str,
    pub subject: String,
    pub scopes: &'a [String],
    pub nonce: Option<&'a str>,
    pub auth_time: i64,
    pub session_id: Option<&'a str>,
    pub amr: &'a [String],
    pub mapped: &'a Map<String, Value>,
    pub family_id: &'a str,
    pub now: i64,
    pub with_refresh: bool,
    /// Put `at_hash` in the ID token. authentik leaves it out for client_credentials and the
    /// password grant; without it the ID token is a pure function of its claims and can reuse
    /// a signature (see [`issue_with_memo`]).
    pub id_token_at_hash: bool,
}

/// Tokens ready to send, and the records to store for them.
#[derive(Debug, Clone)]
pub struct Issued {
    pub access_token: String,
    pub access_record: AccessToken,
    pub id_token: String,
    pub refresh: Option<(String, RefreshToken)>,
    pub expires_in: i64,
    pub scope: String,
}

/// Mints an access token, an ID token and (when asked) a refresh token.
pub fn issue(req: &IssueRequest<'_>) -> Result<Issued, OAuthError> {
    issue_with_memo(req, None)
}

/// [`issue`], where an ID token without `at_hash` reuses the signature `memo` holds for the same
/// claims (and leaves its own there): the client's memo from the snapshot, so a key change,
/// which builds a new snapshot, never meets an old signature.
pub fn issue_with_memo(
    req: &IssueRequest<'_>,
    memo: Option<&SignatureMemo>,
) -> Result<Issued, OAuthError> {
    let settings = &req.entry.provider.oauth2;
    let expires_in = validity(&settings.access_token_validity, 3600);
    let expires_at = req.now + expires_in;
    let include = settings.include_claims_in_id_token;
    let base = IdTokenInput {
        issuer: req.issuer,
        client_id: &req.entry.provider.client_id,
        subject: req.subject.clone(),
        now: req.now,
        expires_at,
        auth_time: req.auth_time,
        nonce: req.nonce,
        session_id: req.session_id,
        amr: req.amr,
        at_hash: None,
        c_hash: None,
        extra: Some(req.mapped),
    };
    let access_claims = claims::access_token_claims(&base, &secrets::random_alnum(40), req.scopes);
    let access_token = seal(
        req.entry,
        sign_payload(req.entry, &encode_claims(&access_claims)?, None)?,
    )?;
    let id_claims = claims::id_token_claims(&IdTokenInput {
        at_hash: req
            .id_token_at_hash
            .then(|| claims::half_hash(&access_token)),
        extra: include.then_some(req.mapped),
        ..base
    });
    let claims_json = serde_json::to_string(&id_claims)
        .map_err(|e| OAuthError::server_error(format!("cannot encode claims: {e}")))?;
    let id_token = match memo.filter(|_| !req.id_token_at_hash) {
        Some(memo) => sign_memoized(req.entry, memo, &claims_json)?,
        None => seal(
            req.entry,
            sign_payload(req.entry, claims_json.as_bytes(), None)?,
        )?,
    };
    let scope = req.scopes.join(" ");
    let access_record = AccessToken {
        id: crate::domain::new_id(),
        token_digest: secrets::digest(&access_token),
        family_id: req.family_id.to_string(),
        provider_id: req.entry.provider.id.clone(),
        user_id: req.user_id.to_string(),
        session_id: req.session_id.map(str::to_string),
        scope: scope.clone(),
        claims: claims_json.clone(),
        auth_time: req.auth_time,
        expires_at,
        revoked_at: None,
        created_at: req.now,
    };
    let refresh = req.with_refresh.then(|| {
        let token = secrets::random_alnum(128);
        let record = RefreshToken {
            id: crate::domain::new_id(),
            token_digest: secrets::digest(&token),
            family_id: req.family_id.to_string(),
            provider_id: req.entry.provider.id.clone(),
            user_id: req.user_id.to_string(),
            session_id: req.session_id.map(str::to_string),
            scope: scope.clone(),
            nonce: req.nonce.map(str::to_string),
            claims: claims_json,
            auth_time: req.auth_time,
            expires_at: req.now + validity(&settings.refresh_token_validity, 30 * 86400),
            consumed_at: None,
            revoked_at: None,
            created_at: req.now,
        };
        (token, record)
    });
    Ok(Issued {
        access_token,
        access_record,
        id_token,
        refresh,
        expires_in,
        scope,
    })
}

/// The token response body (RFC 6749 §5.1), moved out of what was issued and serialised as it
/// is: no intermediate JSON tree on the token endpoint's path.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub scope: String,
    pub id_token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

impl From<Issued> for TokenResponse {
    fn from(issued: Issued) -> Self {
        Self {
            access_token: issued.access_token,
            token_type: "Bearer",
            expires_in: issued.expires_in,
            scope: issued.scope,
            id_token: issued.id_token,
            refresh_token: issued.refresh.map(|(token, _)| token),
        }
    }
}
