//! JWE compact serialisation (RFC 7516) with exactly the algorithms authentik uses when a provider
//! has an encryption key: key management `RSA-OAEP-256` and content encryption `A256CBC-HS512`
//! (RFC 7518 §4.3 and §5.2). The Rust JWE crates either need OpenSSL (josekit) or lack this pair
//! (jwt-simple: no RSA-OAEP-256, no CBC-HMAC), so the RFC's composition is assembled here from
//! aws-lc-rs primitives — RSA-OAEP, AES-256-CBC with PKCS#7 padding, HMAC-SHA-512 — and checked
//! against the RFC's own test vector.

use aws_lc_rs::cipher::{
    AES_256, DecryptionContext, EncryptionContext, PaddedBlockDecryptingKey,
    PaddedBlockEncryptingKey, UnboundCipherKey,
};
use aws_lc_rs::hmac;
use aws_lc_rs::iv::FixedLength;
use aws_lc_rs::rsa::{
    OAEP_SHA256_MGF1SHA256, OaepPrivateDecryptingKey, OaepPublicEncryptingKey,
    PrivateDecryptingKey, PublicEncryptingKey,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

use super::{CryptoError, keys};
use crate::domain::CertificateKeypair;

/// The key management algorithm authentik uses (RFC 7518 §4.3).
pub const ALG: &str = "RSA-OAEP-256";
/// The content encryption algorithm authentik uses (RFC 7518 §5.2.5).
pub const ENC: &str = "A256CBC-HS512";

/// A provider's encryption key: the certificate's RSA public key (what tokens are encrypted to)
/// and, when the keypair has one, the private key (to read back our own tokens, e.g. an
/// `id_token_hint`).
pub struct EncryptionKey {
    /// The keypair's id in the store.
    pub keypair_id: String,
    /// The key id in the JWE header and in JWKS.
    pub kid: String,
    /// The public JWK published in JWKS with `use: enc`.
    pub public_jwk: Value,
    public: OaepPublicEncryptingKey,
    private: Option<OaepPrivateDecryptingKey>,
}

impl std::fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncryptionKey")
            .field("keypair_id", &self.keypair_id)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl EncryptionKey {
    /// Loads a stored keypair as an encryption key; only RSA keys can do RSA-OAEP-256.
    pub fn from_keypair(kp: &CertificateKeypair) -> Result<Self, CryptoError> {
        let (n, e) = keys::rsa_public_numbers(&kp.certificate_pem).map_err(|_| {
            CryptoError::Unsupported(format!(
                "'{}' is not an RSA key; ID-token encryption (RSA-OAEP-256) needs an RSA certificate",
                kp.name
            ))
        })?;
        let spki = keys::subject_public_key_info_der(&kp.certificate_pem)?;
        let bad_cert = |e: &dyn std::fmt::Display| CryptoError::BadCertificate(e.to_string());
        let public = PublicEncryptingKey::from_der(&spki).map_err(|e| bad_cert(&e))?;
        let public = OaepPublicEncryptingKey::new(public).map_err(|e| bad_cert(&e))?;
        let private = match kp.key_pem.as_deref() {
            Some(pem) => {
                let bad_key = |e: &dyn std::fmt::Display| CryptoError::BadKey(e.to_string());
                let der = keys::private_key_pkcs8_der(pem)?;
                let key = PrivateDecryptingKey::from_pkcs8(&der).map_err(|e| bad_key(&e))?;
                Some(OaepPrivateDecryptingKey::new(key).map_err(|e| bad_key(&e))?)
            }
            None => None,
        };
        let b64 = |v: &[u8]| URL_SAFE_NO_PAD.encode(v);
        let mut public_jwk = json!({"kty": "RSA", "n": b64(&n), "e": b64(&e)});
        let kid = thumbprint(&public_jwk);
        if let Some(obj) = public_jwk.as_object_mut() {
            obj.insert("kid".into(), json!(kid));
            obj.insert("use".into(), json!("enc"));
            obj.insert("alg".into(), json!(ALG));
            obj.insert("enc".into(), json!(ENC));
        }
        Ok(Self {
            keypair_id: kp.id.clone(),
            kid,
            public_jwk,
            public,
            private,
        })
    }

    /// Wraps `plaintext` (a signed JWT) in a compact JWE addressed to this key.
    pub fn encrypt(&self, plaintext: &[u8]) -> Result<String, CryptoError> {
        let fail = |what: &str| CryptoError::Generate(format!("JWE {what} failed"));
        let header = json!({"alg": ALG, "enc": ENC, "typ": "JWE", "kid": self.kid});
        let protected = URL_SAFE_NO_PAD.encode(header.to_string());
        let mut cek = [0u8; 64];
        aws_lc_rs::rand::fill(&mut cek).map_err(|_| fail("key generation"))?;
        let mut iv = [0u8; 16];
        aws_lc_rs::rand::fill(&mut iv).map_err(|_| fail("IV generation"))?;
        let mut wrapped = vec![0u8; self.public.ciphertext_size()];
        let wrapped = self
            .public
            .encrypt(&OAEP_SHA256_MGF1SHA256, &cek, &mut wrapped, None)
            .map_err(|_| fail("key wrapping"))?
            .to_vec();
        let (ciphertext, tag) = cbc_hmac_encrypt(&cek, &iv, protected.as_bytes(), plaintext)?;
        let b64 = |v: &[u8]| URL_SAFE_NO_PAD.encode(v);
        Ok(format!(
            "{protected}.{}.{}.{}.{}",
            b64(&wrapped),
            b64(&iv),
            b64(&ciphertext),
            b64(&tag)
        ))
    }

    /// Opens a compact JWE made by [`encrypt`](Self::encrypt) and returns its plaintext; needs
    /// the private key. Any malformed or tampered input is the same error.
    pub fn decrypt(&self, compact: &str) -> Result<Vec<u8>, CryptoError> {
        let bad = || CryptoError::Unsupported("not a JWE this server can open".into());
        let private = self.private.as_ref().ok_or_else(bad)?;
        let parts: Vec<&str> = compact.split('.').collect();
        let [protected, wrapped, iv, ciphertext, tag] = parts.as_slice() else {
            return Err(bad());
        };
        let header: Value = URL_SAFE_NO_PAD
            .decode(protected)
            .ok()
            .and_then(|h| serde_json::from_slice(&h).ok())
            .ok_or_else(bad)?;
        if header["alg"] != ALG || header["enc"] != ENC {
            return Err(bad());
        }
        let d = |s: &str| URL_SAFE_NO_PAD.decode(s).map_err(|_| bad());
        let wrapped = d(wrapped)?;
        let mut cek = vec![0u8; private.min_output_size()];
        let cek = private
            .decrypt(&OAEP_SHA256_MGF1SHA256, &wrapped, &mut cek, None)
            .map_err(|_| bad())?
            .to_vec();
        let iv: [u8; 16] = d(iv)?.try_into().map_err(|_| bad())?;
        cbc_hmac_decrypt(&cek, &iv, protected.as_bytes(), &d(ciphertext)?, &d(tag)?)
    }
}

/// RFC 7638 thumbprint of an RSA public JWK (members `e`, `kty`, `n` in that order).
fn thumbprint(jwk: &Value) -> String {
    use sha2::{Digest, Sha256};
    let canonical = format!(
        r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
        jwk["e"].as_str().unwrap_or_default(),
        jwk["n"].as_str().unwrap_or_default()
    );
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

/// The authentication tag: the first half of HMAC-SHA-512 over AAD ‖ IV ‖ ciphertext ‖ AL,
/// where AL is the AAD's length in bits as a 64-bit big-endian number (RFC 7518 §5.2.2.1).
fn cbc_hmac_tag(mac_key: &[u8], iv: &[u8], aad: &[u8], ciphertext: &[u8]) -> Vec<u8> {
    let key = hmac::Key::new(hmac::HMAC_SHA512, mac_key);
    let mut ctx = hmac::Context::with_key(&key);
    ctx.update(aad);
    ctx.update(iv);
    ctx.update(ciphertext);
    ctx.update(&((aad.len() as u64) * 8).to_be_bytes());
    ctx.sign().as_ref()[..32].to_vec()
}

/// AES_256_CBC_HMAC_SHA_512 encryption: the 64-byte key splits into MAC key ‖ ENC key.
fn cbc_hmac_encrypt(
    key: &[u8; 64],
    iv: &[u8; 16],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<(Vec<u8>, Vec<u8>), CryptoError> {
    let fail = || CryptoError::Generate("JWE content encryption failed".into());
    let (mac_key, enc_key) = key.split_at(32);
    let cipher = UnboundCipherKey::new(&AES_256, enc_key)
        .and_then(PaddedBlockEncryptingKey::cbc_pkcs7)
        .map_err(|_| fail())?;
    let mut ciphertext = plaintext.to_vec();
    cipher
        .less_safe_encrypt(
            &mut ciphertext,
            EncryptionContext::Iv128(FixedLength::from(*iv)),
        )
        .map_err(|_| fail())?;
    let tag = cbc_hmac_tag(mac_key, iv, aad, &ciphertext);
    Ok((ciphertext, tag))
}

/// AES_256_CBC_HMAC_SHA_512 decryption: the tag is checked (in constant time) before any
/// decryption, so padding errors are never observable.
fn cbc_hmac_decrypt(
    key: &[u8],
    iv: &[u8; 16],
    aad: &[u8],
    ciphertext: &[u8],
    tag: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let bad = || CryptoError::Unsupported("not a JWE this server can open".into());
    if key.len() != 64 {
        return Err(bad());
    }
    let (mac_key, enc_key) = key.split_at(32);
    let expected = cbc_hmac_tag(mac_key, iv, aad, ciphertext);
    if !bool::from(expected.ct_eq(tag)) {
        return Err(bad());
    }
    let cipher = UnboundCipherKey::new(&AES_256, enc_key)
        .and_then(PaddedBlockDecryptingKey::cbc_pkcs7)
        .map_err(|_| bad())?;
    let mut buf = ciphertext.to_vec();
    let plain = cipher
        .decrypt(&mut buf, DecryptionContext::Iv128(FixedLength::from(*iv)))
        .map_err(|_| bad())?;
    Ok(plain.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
            .collect()
    }

    /// RFC 7518 Appendix B.3: the AES_256_CBC_HMAC_SHA_512 test case.
    #[test]
    fn cbc_hmac_matches_rfc7518_b3() {
        let key: [u8; 64] = hex("00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f
            10 11 12 13 14 15 16 17 18 19 1a 1b 1c 1d 1e 1f
            20 21 22 23 24 25 26 27 28 29 2a 2b 2c 2d 2e 2f
            30 31 32 33 34 35 36 37 38 39 3a 3b 3c 3d 3e 3f")
        .try_into()
        .expect("64");
        let plaintext = hex("41 20 63 69 70 68 65 72 20 73 79 73 74 65 6d 20
            6d 75 73 74 20 6e 6f 74 20 62 65 20 72 65 71 75
            69 72 65 64 20 74 6f 20 62 65 20 73 65 63 72 65
            74 2c 20 61 6e 64 20 69 74 20 6d 75 73 74 20 62
            65 20 61 62 6c 65 20 74 6f 20 66 61 6c 6c 20 69
            6e 74 6f 20 74 68 65 20 68 61 6e 64 73 20 6f 66
            20 74 68 65 20 65 6e 65 6d 79 20 77 69 74 68 6f
            75 74 20 69 6e 63 6f 6e 76 65 6e 69 65 6e 63 65");
        let iv: [u8; 16] = hex("1a f3 8c 2d c2 b9 6f fd d8 66 94 09 23 41 bc 04")
            .try_into()
            .expect("16");
        let aad = hex("54 68 65 20 73 65 63 6f 6e 64 20 70 72 69 6e 63
            69 70 6c 65 20 6f 66 20 41 75 67 75 73 74 65 20
            4b 65 72 63 6b 68 6f 66 66 73");
        let expected_ciphertext = hex("4a ff aa ad b7 8c 31 c5 da 4b 1b 59 0d 10 ff bd
            3d d8 d5 d3 02 42 35 26 91 2d a0 37 ec bc c7 bd
            82 2c 30 1d d6 7c 37 3b cc b5 84 ad 3e 92 79 c2
            e6 d1 2a 13 74 b7 7f 07 75 53 df 82 94 10 44 6b
            36 eb d9 70 66 29 6a e6 42 7e a7 5c 2e 08 46 a1
            1a 09 cc f5 37 0d c8 0b fe cb ad 28 c7 3f 09 b3
            a3 b7 5e 66 2a 25 94 41 0a e4 96 b2 e2 e6 60 9e
            31 e6 e0 2c c8 37 f0 53 d2 1f 37 ff 4f 51 95 0b
            be 26 38 d0 9d d7 a4 93 09 30 80 6d 07 03 b1 f6");
        let expected_tag = hex("4d d3 b4 c0 88 a7 f4 5c 21 68 39 64 5b 20 12 bf
            2e 62 69 a8 c5 6a 81 6d bc 1b 26 77 61 95 5b c5");
        let (ciphertext, tag) = cbc_hmac_encrypt(&key, &iv, &aad, &plaintext).expect("encrypt");
        assert_eq!(ciphertext, expected_ciphertext);
        assert_eq!(tag, expected_tag);
        let back = cbc_hmac_decrypt(&key, &iv, &aad, &ciphertext, &tag).expect("decrypt");
        assert_eq!(back, plaintext);
        let mut forged = tag.clone();
        forged[0] ^= 1;
        assert!(cbc_hmac_decrypt(&key, &iv, &aad, &ciphertext, &forged).is_err());
        assert!(cbc_hmac_decrypt(&key, &iv, b"other aad", &ciphertext, &tag).is_err());
    }
}
