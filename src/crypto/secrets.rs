//! Random secrets, their stored digests, and constant-time comparison.

use rand::Rng;
use rand::distr::Alphanumeric;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A random string of `len` characters from `[A-Za-z0-9]` (authentik's `generate_id`).
pub fn random_alnum(len: usize) -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// A random URL-safe token carrying `bytes` bytes of entropy.
pub fn random_token(bytes: usize) -> String {
    use base64::Engine;
    let mut buf = vec![0u8; bytes];
    rand::rng().fill(buf.as_mut_slice());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

/// SHA-256 hex digest: how codes, tokens and session ids are stored (never raw).
pub fn digest(value: &str) -> String {
    hex(&Sha256::digest(value.as_bytes()))
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// Compares secrets without leaking, through timing, where they first differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    // Hash first so the length of the stored secret does not leak either.
    let (ha, hb) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    ha.ct_eq(&hb).into()
}

/// The SHA-256 of a secret, kept where the secret is compared often (a client's secret in the
/// OAuth snapshot) so each comparison hashes only what was presented.
pub fn secret_digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Whether `presented` is the secret whose [`secret_digest`] is `expected`, in constant time
/// (as [`constant_time_eq`]: the stored secret's length does not leak either).
pub fn matches_digest(presented: &str, expected: &[u8; 32]) -> bool {
    Sha256::digest(presented.as_bytes()).ct_eq(expected).into()
}

/// A new OAuth2 client id as authentik generates it (40 random letters and digits).
pub fn new_client_id() -> String {
    random_alnum(40)
}

/// A new OAuth2 client secret as authentik generates it (128 random letters and digits).
pub fn new_client_secret() -> String {
    random_alnum(128)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_and_compare() {
        let a = random_alnum(40);
        assert_eq!(a.len(), 40);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, random_alnum(40));
        assert!(constant_time_eq(&a, &a.clone()));
        assert!(!constant_time_eq(&a, &random_alnum(40)));
        assert!(!constant_time_eq("abc", "abcd"));
        assert_eq!(digest("abc").len(), 64);
        assert_eq!(random_token(32).len(), 43);
    }
}
