//! Key generation and PEM import (rcgen, x509-parser), JWK/JWKS and JWT keys (jsonwebtoken on
//! aws-lc-rs), argon2id password hashes, token digests and constant-time comparison.

pub mod endpoint_challenge;
pub mod jwe;
pub mod jwk;
pub mod keys;
pub mod password;
pub mod secrets;
pub mod signer;

/// Why a key, certificate or hash operation failed, in words an admin can act on.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("the certificate is not valid PEM/X.509: {0}")]
    BadCertificate(String),
    #[error("the private key is not a valid unencrypted PEM key (PKCS#8, PKCS#1 or SEC1): {0}")]
    BadKey(String),
    #[error(
        "encrypted private keys are not supported: decrypt it first (openssl pkey -in key.pem)"
    )]
    EncryptedKey,
    #[error("RSA keys must be at least 2048 bits (this one has {0})")]
    WeakRsa(usize),
    #[error("the private key does not belong to the certificate")]
    KeyMismatch,
    #[error("unsupported key type: {0}")]
    Unsupported(String),
    #[error("key generation failed: {0}")]
    Generate(String),
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("JWT error: {0}")]
    Jwt(#[from] jsonwebtoken::errors::Error),
}
