//! JWS signing with key pairs parsed once and kept. jsonwebtoken's `encode` re-parses the private
//! key on every call (about 1 800 RS256 signatures/s per core here, against about 4 500/s with a
//! kept aws-lc-rs key pair), so the hot path signs through this instead. The key material comes
//! from jsonwebtoken's own `EncodingKey` (the same DER its aws-lc-rs backend parses), and the
//! header type is jsonwebtoken's: only the compact serialisation (RFC 7515 §7.1) is assembled here.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair,
    KeyPair, RSA_PKCS1_SHA256, RsaKeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;

use super::CryptoError;

/// A parsed private key ready to sign many tokens.
pub enum KeptKeyPair {
    Rsa(RsaKeyPair),
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

impl std::fmt::Debug for KeptKeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            KeptKeyPair::Rsa(_) => "KeptKeyPair::Rsa",
            KeptKeyPair::Ecdsa(_) => "KeptKeyPair::Ecdsa",
            KeptKeyPair::Ed25519(_) => "KeptKeyPair::Ed25519",
        })
    }
}

impl KeptKeyPair {
    /// Parses the key once, exactly as jsonwebtoken's aws-lc-rs backend would on every call.
    pub fn new(key: &EncodingKey, algorithm: Algorithm) -> Result<Self, CryptoError> {
        let bad = |e: String| CryptoError::BadKey(e);
        Ok(match algorithm {
            Algorithm::RS256 => KeptKeyPair::Rsa(
                RsaKeyPair::from_der(key.as_bytes()).map_err(|e| bad(e.to_string()))?,
            ),
            Algorithm::ES256 => KeptKeyPair::Ecdsa(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, key.as_bytes())
                    .map_err(|e| bad(e.to_string()))?,
            ),
            Algorithm::ES384 => KeptKeyPair::Ecdsa(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, key.as_bytes())
                    .map_err(|e| bad(e.to_string()))?,
            ),
            Algorithm::EdDSA => KeptKeyPair::Ed25519(
                Ed25519KeyPair::from_pkcs8(key.as_bytes()).map_err(|e| bad(e.to_string()))?,
            ),
            other => return Err(CryptoError::Unsupported(format!("{other:?}"))),
        })
    }

    /// Signs `message` (the JWS signing input).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let fail = |e: String| CryptoError::Generate(format!("signing failed: {e}"));
        match self {
            KeptKeyPair::Rsa(kp) => {
                let mut sig = vec![0; kp.public_modulus_len()];
                kp.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), message, &mut sig)
                    .map_err(|e| fail(e.to_string()))?;
                Ok(sig)
            }
            KeptKeyPair::Ecdsa(kp) => kp
                .sign(&SystemRandom::new(), message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|e| fail(e.to_string())),
            KeptKeyPair::Ed25519(kp) => {
                let _ = kp.public_key();
                Ok(kp.sign(message).as_ref().to_vec())
            }
        }
    }

    /// Produces a compact JWS: `b64(header).b64(claims).b64(signature)`.
    pub fn sign_jwt<T: Serialize>(
        &self,
        header: &Header,
        claims: &T,
    ) -> Result<String, CryptoError> {
        let claims = serde_json::to_vec(claims)
            .map_err(|e| CryptoError::Generate(format!("claims: {e}")))?;
        self.sign_compact(&encoded_header(header)?, &claims)
    }

    /// A compact JWS over claims already serialised (`payload`), under a header already
    /// encoded ([`encoded_header`]): the token endpoint serialises each token's claims once, for
    /// the record and the signature alike, and each key's header once.
    pub fn sign_compact(
        &self,
        encoded_header: &str,
        payload: &[u8],
    ) -> Result<String, CryptoError> {
        let mut out = String::with_capacity(encoded_header.len() + payload.len() * 4 / 3 + 352);
        out.push_str(encoded_header);
        out.push('.');
        URL_SAFE_NO_PAD.encode_string(payload, &mut out);
        let signature = self.sign(out.as_bytes())?;
        out.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut out);
        Ok(out)
    }
}

/// The first part of a compact JWS: the header's JSON, base64url-encoded.
pub fn encoded_header(header: &Header) -> Result<String, CryptoError> {
    let json =
        serde_json::to_vec(header).map_err(|e| CryptoError::Generate(format!("header: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(json))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::keys::{self, KeyAlgorithm};
    use jsonwebtoken::{DecodingKey, Validation};

    #[test]
    fn kept_keys_sign_tokens_jsonwebtoken_verifies() {
        for (alg, jwa) in [
            (KeyAlgorithm::Rsa2048, Algorithm::RS256),
            (KeyAlgorithm::EcdsaP256, Algorithm::ES256),
            (KeyAlgorithm::EcdsaP384, Algorithm::ES384),
            (KeyAlgorithm::Ed25519, Algorithm::EdDSA),
        ] {
            let pair = keys::generate_self_signed("t", &[], 1, alg).expect("gen");
            let pem = pair.key_pem.as_bytes();
            let enc = match jwa {
                Algorithm::RS256 => EncodingKey::from_rsa_pem(pem),
                Algorithm::EdDSA => EncodingKey::from_ed_pem(pem),
                _ => EncodingKey::from_ec_pem(pem),
            }
            .expect("encoding key");
            let kept = KeptKeyPair::new(&enc, jwa).expect("kept");
            let claims = serde_json::json!({"sub": "s", "exp": 4_102_444_800u64});
            let token = kept.sign_jwt(&Header::new(jwa), &claims).expect("sign");
            let kp = crate::domain::CertificateKeypair {
                id: "k".into(),
                name: "k".into(),
                certificate_pem: pair.certificate_pem.clone(),
                key_pem: Some(pair.key_pem.clone()),
                version: 1,
                ..Default::default()
            };
            let signing = crate::crypto::jwk::SigningKey::from_keypair(&kp).expect("signing key");
            assert_eq!(signing.algorithm, jwa);
            let jwk: jsonwebtoken::jwk::Jwk =
                serde_json::from_value(signing.public_jwk.clone()).expect("jwk");
            let dec = DecodingKey::from_jwk(&jwk).expect("dec");
            let mut v = Validation::new(jwa);
            v.validate_aud = false;
            let data = jsonwebtoken::decode::<serde_json::Value>(&token, &dec, &v)
                .unwrap_or_else(|e| panic!("{jwa:?}: {e}"));
            assert_eq!(data.claims["sub"], "s");
        }
    }
}
