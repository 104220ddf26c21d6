//! Signing keys as JWT keys and public JWKs. Keys are parsed once into a [`SigningKey`] and kept,
//! so the token endpoint never re-parses PEM.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::jwk::{
    AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, OctetKeyPairParameters,
    OctetKeyPairType, PublicKeyUse, ThumbprintHash,
};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use serde_json::Value;
use sha1::Sha1;
use sha2::{Digest, Sha256};

use std::sync::Arc;

use super::signer::KeptKeyPair;
use super::{CryptoError, keys};
use crate::domain::CertificateKeypair;

/// A parsed signing key with its public JWK: what the hot path signs with.
#[derive(Clone)]
pub struct SigningKey {
    /// The keypair's id in the store.
    pub keypair_id: String,
    /// The JWS algorithm this key signs with.
    pub algorithm: Algorithm,
    /// The key id published in JWKS and set in every JWT header (RFC 7638 thumbprint).
    pub kid: String,
    /// The private key, parsed once and kept (see [`KeptKeyPair`]).
    pub signer: Arc<KeptKeyPair>,
    /// The public key, for verifying our own tokens.
    pub decoding: DecodingKey,
    /// The public JWK (no private members).
    pub public_jwk: Value,
    /// The encoded JWS header of the tokens it signs (`alg` and `kid`), built once.
    pub jws_header: String,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("keypair_id", &self.keypair_id)
            .field("algorithm", &self.algorithm)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

fn parse_algorithm(name: &str) -> Result<Algorithm, CryptoError> {
    match name {
        "RS256" => Ok(Algorithm::RS256),
        "ES256" => Ok(Algorithm::ES256),
        "ES384" => Ok(Algorithm::ES384),
        "EdDSA" => Ok(Algorithm::EdDSA),
        other => Err(CryptoError::Unsupported(other.to_string())),
    }
}

impl SigningKey {
    /// Parses a stored keypair that has a private key.
    pub fn from_keypair(kp: &CertificateKeypair) -> Result<Self, CryptoError> {
        let key_pem = kp.key_pem.as_deref().ok_or_else(|| {
            CryptoError::BadKey(format!("keypair '{}' has no private key", kp.name))
        })?;
        let facts = keys::inspect(&kp.certificate_pem, Some(key_pem))?;
        let algorithm = parse_algorithm(facts.algorithm)?;
        let encoding = match algorithm {
            Algorithm::RS256 => EncodingKey::from_rsa_pem(key_pem.as_bytes())?,
            Algorithm::ES256 | Algorithm::ES384 => EncodingKey::from_ec_pem(key_pem.as_bytes())?,
            _ => EncodingKey::from_ed_pem(key_pem.as_bytes())?,
        };
        let mut jwk = if algorithm == Algorithm::EdDSA {
            // jsonwebtoken only derives Ed25519 JWKs from v1 PKCS#8; take the public key from the
            // certificate instead, which works for every encoding of the private key.
            Jwk {
                common: Default::default(),
                algorithm: AlgorithmParameters::OctetKeyPair(OctetKeyPairParameters {
                    key_type: OctetKeyPairType::OctetKeyPair,
                    curve: EllipticCurve::Ed25519,
                    x: URL_SAFE_NO_PAD.encode(keys::public_key_bits(&kp.certificate_pem)?),
                }),
            }
        } else {
            Jwk::from_encoding_key(&encoding, algorithm)?
        };
        let kid = jwk.thumbprint(ThumbprintHash::SHA256)?;
        jwk.common.key_id = Some(kid.clone());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        jwk.common.key_algorithm = Some(key_algorithm(algorithm));
        let der = keys::certificate_der(&kp.certificate_pem)?;
        jwk.common.x509_chain = Some(vec![STANDARD.encode(&der)]);
        jwk.common.x509_sha1_fingerprint = Some(URL_SAFE_NO_PAD.encode(Sha1::digest(&der)));
        jwk.common.x509_sha256_fingerprint = Some(URL_SAFE_NO_PAD.encode(Sha256::digest(&der)));
        let decoding = DecodingKey::from_jwk(&jwk)?;
        let signer = Arc::new(KeptKeyPair::new(&encoding, algorithm)?);
        let public_jwk = serde_json::to_value(&jwk)
            .map_err(|e| CryptoError::Unsupported(format!("JWK encoding: {e}")))?;
        let mut header = jsonwebtoken::Header::new(algorithm);
        header.kid = Some(kid.clone());
        header.typ = None;
        let jws_header = super::signer::encoded_header(&header)?;
        Ok(Self {
            keypair_id: kp.id.clone(),
            algorithm,
            kid,
            signer,
            decoding,
            public_jwk,
            jws_header,
        })
    }

    /// The algorithm's JOSE name.
    pub fn algorithm_name(&self) -> &'static str {
        algorithm_name(self.algorithm)
    }
}

fn key_algorithm(alg: Algorithm) -> KeyAlgorithm {
    match alg {
        Algorithm::ES256 => KeyAlgorithm::ES256,
        Algorithm::ES384 => KeyAlgorithm::ES384,
        Algorithm::EdDSA => KeyAlgorithm::EdDSA,
        _ => KeyAlgorithm::RS256,
    }
}

/// The JOSE name of an algorithm (`RS256`, `ES256`, …).
pub fn algorithm_name(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::RS256 => "RS256",
        Algorithm::ES256 => "ES256",
        Algorithm::ES384 => "ES384",
        Algorithm::EdDSA => "EdDSA",
        Algorithm::HS256 => "HS256",
        _ => "unsupported",
    }
}

/// A JWKS document for the given keys: `{"keys": [...]}`, public members only.
pub fn jwks(keys: &[&SigningKey]) -> Value {
    Value::Object(
        [(
            "keys".to_string(),
            Value::Array(keys.iter().map(|k| k.public_jwk.clone()).collect()),
        )]
        .into_iter()
        .collect(),
    )
}
