//! PKCE (RFC 7636): verifier syntax and challenge checks.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::crypto::secrets::constant_time_eq;

/// True when `verifier` has RFC 7636 §4.1 syntax: 43–128 characters of `[A-Za-z0-9-._~]`.
pub fn verifier_syntax_ok(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Checks a verifier against the stored challenge with the stored method.
pub fn verify(challenge: &str, method: &str, verifier: &str) -> bool {
    if !verifier_syntax_ok(verifier) {
        return false;
    }
    match method {
        "S256" => {
            let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
            constant_time_eq(&computed, challenge)
        }
        "plain" => constant_time_eq(verifier, challenge),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b_example() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(verify(challenge, "S256", verifier));
        assert!(!verify(challenge, "plain", verifier));
        assert!(!verify(
            challenge,
            "S256",
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj"
        ));
        assert!(!verify(challenge, "none", verifier));
    }

    #[test]
    fn verifier_syntax() {
        assert!(verifier_syntax_ok(&"a".repeat(43)));
        assert!(verifier_syntax_ok(&"a".repeat(128)));
        assert!(!verifier_syntax_ok(&"a".repeat(42)));
        assert!(!verifier_syntax_ok(&"a".repeat(129)));
        assert!(!verifier_syntax_ok(&format!("{}+", "a".repeat(43))));
        // A too-short verifier never verifies, even when it equals a plain challenge.
        assert!(!verify("short", "plain", "short"));
    }
}
